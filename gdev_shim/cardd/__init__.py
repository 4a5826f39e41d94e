"""gdev-cardd: the simulated aicards in a process of their own, shared by every process of a user.

`server.py` accepts connections and runs one session per connection (`session.py`),
each an open of a card; `logs.py` routes the card's log lines to the client they
concern; `__main__.py` is the command line.  Clients reach it through L1's daemon
transport (aidev/daemon.py), which starts it on demand.
"""
