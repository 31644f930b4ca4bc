"""Use cases: one function per action a person takes, shared by chat and command line."""
