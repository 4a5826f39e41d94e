"""Layer-neutral formats shared by the card and the host stack (no layer state)."""
