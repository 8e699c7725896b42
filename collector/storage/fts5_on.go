//go:build sqlite_fts5 || fts5

package storage

// fts5Built says mattn/go-sqlite3 was compiled with FTS5, which the comment search
// (migration 0020) needs.
const fts5Built = true
