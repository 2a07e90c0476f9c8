// Package redisstore keeps the state that several authd instances share in
// Redis, on go-redis: the rate limiter of the REST contract ([Limiter], on
// redis_rate's GCRA), so every instance counts the same requests, and the
// [Broadcaster] that tells every instance to reload its permission mappings
// (Redis pub/sub). While Redis cannot be reached the Limiter falls back to
// per-instance in-memory limits, and picks Redis up again when it answers.
//
// Constructors take a redis.UniversalClient the caller opened and configured
// (address, TLS, timeouts, pool); this package never closes it.
package redisstore
