//go:build !linux

package main

import "syscall"

// childAttr has nothing to add outside Linux (where memory is not read
// either: it comes from /proc).
func childAttr() *syscall.SysProcAttr { return nil }
