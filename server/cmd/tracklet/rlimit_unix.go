//go:build unix

package main

import "syscall"

// openFileLimit is the process's descriptor limit (Go raises the soft
// limit to the hard one at start).
func openFileLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return maxAutoConns + reservedFDs
	}
	return int(l.Cur)
}
