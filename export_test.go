package auth

// FillHashQueue takes every hashing slot of a, running and waiting, so the
// next hash fails with ErrOverloaded; release gives them back.
func FillHashQueue(a *Authenticator) (release func()) {
	n := cap(a.hasher.admitted)
	for range n {
		a.hasher.admitted <- struct{}{}
	}
	return func() {
		for range n {
			<-a.hasher.admitted
		}
	}
}
