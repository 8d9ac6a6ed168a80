-- wrk script: prints latency percentiles wrk's --latency table lacks (p99.9), in microseconds,
-- one "percentile <p> <us>" line each, after wrk's own summary. Defines only `done`, so wrk
-- keeps building requests natively (no Lua on the request path).
done = function(summary, latency, requests)
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("percentile %g %d\n", p, latency:percentile(p)))
  end
end
