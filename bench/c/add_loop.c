/* add_loop.c - the seed program's computation as a plain C loop (c = a + b),
 * loaded by bench/end_to_end.py as the host reference. */
#include <stddef.h>

void add_loop(const int *a, const int *b, int *c, size_t n);

void add_loop(const int *a, const int *b, int *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}
