"""The conversations, one module per journey; ``router`` decides which one a
message belongs to. Handlers are thin: read the update, call the ledger and
storage, answer with a named text."""
