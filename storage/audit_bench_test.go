package storage_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/auth"
	"github.com/authd/auth/internal/testenv"
	"github.com/authd/auth/storage"
)

// The benchmarks of the audit log, recorded in docs/benchmarks.md, which
// bench/audit.sh runs (the login pairs interleaved):
//
//	go test -run '^$' -bench 'AuditAppendAndSeal|AuditSeal|AuditVerify' -benchtime 20000x ./storage/
//	go test -run '^$' -bench 'Login/postgres/argon2-default' -benchtime 4s ./storage/
//
// Each runs on PostgreSQL and on SQLite (a file); the concurrent ones with
// 16 goroutines.

// benchClients is how many goroutines a benchmark runs at once.
const benchClients = 16

// setClients makes b.RunParallel run benchClients goroutines (rounded up
// to a multiple of GOMAXPROCS, as RunParallel starts p × GOMAXPROCS).
func setClients(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchClients + procs - 1) / procs)
}

var benchDatabases = []struct {
	name string
	url  func(b *testing.B) string
}{
	{storage.DialectPostgres, func(b *testing.B) string { return testenv.PostgresURL(b) }},
	{storage.DialectSQLite, func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
}

// openBenchStore opens and migrates url with a pool large enough for
// every client.
func openBenchStore(b *testing.B, url string) *storage.Store {
	b.Helper()
	s, err := storage.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if s.Dialect() == storage.DialectPostgres {
		s.DB().SetMaxOpenConns(benchClients + 4)
		s.DB().SetMaxIdleConns(benchClients + 4)
	}
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchEvent is a login event as the Authenticator records it.
func benchEvent() auth.AuditEvent {
	return auth.AuditEvent{
		ID: newID(), OccurredAt: time.Now(), Event: auth.EventLogin, ActorID: newID(),
		TargetType: auth.TargetSession, TargetID: newID(), IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
	}
}

// sealEverySecond seals s once a second, as runSealer does in authd, until
// the returned function is called; that function waits for the round in
// progress, seals what is left and returns.
func sealEverySecond(b *testing.B, s *storage.Store) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// Not cancelled mid-round: on PostgreSQL a transaction cut
			// short can hold the sealing lock a moment after it returns.
			if _, err := s.SealAudit(context.Background()); err != nil {
				b.Error(err)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		if _, err := s.SealAudit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditAppendAndSeal is the audit log's throughput: 16 clients
// append events while the sealer seals once a second; the time includes
// sealing the rest, so every event counted is chained.
func BenchmarkAuditAppendAndSeal(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			s := openBenchStore(b, d.url(b))
			setClients(b)
			b.ResetTimer()
			stop := sealEverySecond(b, s)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.AppendAudit(context.Background(), benchEvent()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			stop()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if r, err := s.VerifyAudit(context.Background()); err != nil || !r.OK() || r.Sealed != int64(b.N) || r.Pending != 0 {
				b.Fatalf("after the benchmark: %+v, %v; want %d events sealed", r, err, b.N)
			}
		})
	}
}

// BenchmarkAuditSeal is sealing alone: b.N events appended beforehand, then
// sealed in batches of 1000.
func BenchmarkAuditSeal(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			s := openBenchStore(b, d.url(b))
			err := s.WithinTx(context.Background(), func(ctx context.Context, tx auth.Store) error {
				for range b.N {
					if err := tx.AppendAudit(ctx, benchEvent()); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			n, err := s.SealAudit(context.Background())
			b.StopTimer()
			if err != nil || n != b.N {
				b.Fatalf("SealAudit = %d, %v; want %d", n, err, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkAuditVerify is verification: b.N sealed events walked.
func BenchmarkAuditVerify(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			s := openBenchStore(b, d.url(b))
			err := s.WithinTx(context.Background(), func(ctx context.Context, tx auth.Store) error {
				for range b.N {
					if err := tx.AppendAudit(ctx, benchEvent()); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.SealAudit(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			r, err := s.VerifyAudit(context.Background())
			b.StopTimer()
			if err != nil || !r.OK() || r.Sealed != int64(b.N) {
				b.Fatalf("VerifyAudit = %+v, %v", r, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// unaudited is a Store whose AppendAudit does nothing, in a transaction
// too: the baseline of the login benchmark.
type unaudited struct{ auth.Store }

func (unaudited) AppendAudit(context.Context, auth.AuditEvent) error { return nil }

func (s unaudited) WithinTx(ctx context.Context, fn func(ctx context.Context, tx auth.Store) error) error {
	return s.Store.WithinTx(ctx, func(ctx context.Context, tx auth.Store) error { return fn(ctx, unaudited{tx}) })
}

type discardMailer struct{}

func (discardMailer) Send(context.Context, auth.Message) error { return nil }

// BenchmarkLogin is login throughput with the audit log (the login event
// appended in the login's transaction, the sealer running once a second)
// and without it (AppendAudit does nothing), 16 clients at once. It also
// reports the CPU time of a login (cpu-µs/op: this process and, on Linux
// with PostgreSQL on the same host, its server processes), which a busy
// machine disturbs far less than the throughput. Password
// hashing is either the default Argon2id (19 MiB, 2 iterations), which
// dominates a login, or the cheapest Argon2id (8 KiB, 1 iteration), which
// leaves the database's share of the work, and so the audit log's, as
// large as it can be.
func BenchmarkLogin(b *testing.B) {
	hashing := []struct {
		name   string
		params auth.Argon2Params
	}{
		{"argon2-default", auth.Argon2Params{}},
		{"argon2-cheap", auth.Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}},
	}
	for _, d := range benchDatabases {
		for _, h := range hashing {
			for _, audited := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/audited=%t", d.name, h.name, audited)
				b.Run(name, func(b *testing.B) { benchmarkLogin(b, d.url(b), h.params, audited) })
			}
		}
	}
}

func benchmarkLogin(b *testing.B, url string, params auth.Argon2Params, audited bool) {
	ctx := context.Background()
	s := openBenchStore(b, url)
	var store auth.Store = s
	if !audited {
		store = unaudited{s}
	}
	cfg := auth.Config{
		JWTSecret:         []byte("0123456789abcdef0123456789abcdef"),
		Argon2:            params,
		RateLimitDisabled: true,
		HashQueue:         benchClients,
	}
	authn, err := auth.NewAuthenticator(store, discardMailer{}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	const users = benchClients * 2
	const password = "correct horse battery staple"
	emails := make([]string, users)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
		if _, err := authn.CreateSuperuser(ctx, emails[i], password); err != nil {
			b.Fatal(err)
		}
	}
	if audited {
		stop := sealEverySecond(b, s)
		defer stop()
	}
	setClients(b)
	var next atomic.Int64
	cpu := cpuTime(s)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := auth.Client{IP: "203.0.113.7", UserAgent: "bench/1.0"}
		for pb.Next() {
			email := emails[next.Add(1)%users]
			if _, _, err := authn.Login(ctx, c, email, password); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	if cpu := cpuTime(s) - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
