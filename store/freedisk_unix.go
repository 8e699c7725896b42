//go:build !windows

package store

import "syscall"

// freeBytes reports the bytes free to unprivileged users where dir lives; -1 if unknown.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * st.Bsize
}
