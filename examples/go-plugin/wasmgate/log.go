// Logging and the monotonic clock (the contract's `log` and `clock` interfaces). One host call
// each; lines below the gateway's level are dropped by the host unformatted.
package wasmgate

// LogLevel is the severity of a log line.
type LogLevel uint32

const (
	Trace LogLevel = iota
	Debug
	Info
	Warn
	Error
)

// Log writes one line to the gateway log, attributed to this middleware and plugin.
func Log(level LogLevel, message string) { importLog(uint32(level), message) }

// MonotonicNow is nanoseconds since a point fixed for the gateway process; never decreases.
func MonotonicNow() uint64 { return importMonotonicNow() }
