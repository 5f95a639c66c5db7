"""compare_suites.py REFERENCE.json OURS.json: every test that passes with
the reference (pyasyncore/pyasynchat) must pass with ours."""
import json
import sys

ref = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))
lost = sorted(t for t, v in ref.items() if v == "pass" and ours.get(t) != "pass")
ref_pass = sum(v == "pass" for v in ref.values())
our_pass = sum(v == "pass" for v in ours.values())
print("reference: %d tests, %d pass, %d skipped; ours: %d tests, %d pass, %d skipped"
      % (len(ref), ref_pass, sum(v == "skip" for v in ref.values()),
         len(ours), our_pass, sum(v == "skip" for v in ours.values())))
for t in lost:
    print("  passes with the reference, not with ours: %s (%s)" % (t, ours.get(t, "missing")))
sys.exit(1 if lost else 0)
