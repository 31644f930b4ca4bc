"""Use cases: one function per action, its rule, writes and notices in one transaction."""
