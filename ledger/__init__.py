"""The domain of xiaoan, pure Python with no I/O.

Schools, buildings, the checklist, hazards and who may do what. Everything
here is a plain function or data class so that the rules can be tested
without a bot or a database.
"""
