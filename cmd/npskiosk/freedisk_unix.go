//go:build !windows

package main

import "syscall"

// freeDisk reports the bytes free to unprivileged users where dir lives; 0 if unknown.
func freeDisk(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * st.Bsize
}
