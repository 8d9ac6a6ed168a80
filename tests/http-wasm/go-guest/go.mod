module wasmgate.test/httpwasm/goguest

go 1.24
