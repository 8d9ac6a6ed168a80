module wasmgate-plugin

go 1.24
