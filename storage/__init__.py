"""SQLite through aiosqlite: migrations, repositories and the photo store."""
