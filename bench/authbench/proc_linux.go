package main

import "syscall"

// childAttr makes the kernel send SIGTERM to a server when the bench dies,
// so an interrupted or killed bench leaves no server behind.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }
