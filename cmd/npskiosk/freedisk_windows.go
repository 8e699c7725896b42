package main

import "golang.org/x/sys/windows"

// freeDisk reports the bytes free to this user where dir lives; 0 if unknown.
func freeDisk(dir string) int64 {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return 0
	}
	return int64(free)
}
