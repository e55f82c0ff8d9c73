"""`visio`: the command line that ties the core (``assistant``), the web UI (``ui``),
the evaluation (``evals``) and the benchmarks together. It lives outside the core
package so that ``assistant`` imports none of them."""
