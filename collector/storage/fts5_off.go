//go:build !sqlite_fts5 && !fts5

package storage

// fts5Built is false without the sqlite_fts5 build tag: SQLite then has no FTS5 and
// Open refuses a SQLite database with a message that says which tag is missing, rather
// than failing migration 0020 with "no such module: fts5".
const fts5Built = false
