"""Run CPython 3.11's own test_asyncore and test_asynchat, unmodified.

    python cpython_suite.py TESTDIR OUT.json [--expect-ours]

TESTDIR holds the two files as shipped with CPython 3.11 (Lib/test/); they
are copied to a temporary directory and imported from there, so the
asyncore/asynchat they test are whatever this interpreter imports. Writes
{test id: "pass"|"fail"|"error"|"skip"} to OUT.json and prints a summary.
With --expect-ours, refuses to run unless asyncore and asynchat come from
this package (asyncore_loop's engine), not from a stdlib or pyasyncore.
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

NAMES = ("test_asyncore", "test_asynchat")


class Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcomes[test.id()] = "pass"

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcomes[test.id()] = "fail"

    def addError(self, test, err):
        super().addError(test, err)
        self.outcomes[test.id()] = "error"

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcomes[test.id()] = "skip"

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.outcomes[test.id()] = "pass"

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.outcomes[test.id()] = "fail"


def main():
    testdir, out = sys.argv[1], sys.argv[2]
    expect_ours = "--expect-ours" in sys.argv[3:]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import asynchat
        import asyncore
    print("python %s: asyncore from %s" % (sys.version.split()[0], asyncore.__file__))
    if expect_ours:
        if not hasattr(asyncore, "_engine"):
            sys.exit("cpython_suite: asyncore at %s is not this package's" % asyncore.__file__)
        if not hasattr(asynchat, "_engine"):
            sys.exit("cpython_suite: asynchat at %s is not this package's" % asynchat.__file__)
    tmp = tempfile.mkdtemp(prefix="cpython-asyncore-tests-")
    try:
        for name in NAMES:
            shutil.copy(os.path.join(testdir, name + ".py"), tmp)
        sys.path.insert(0, tmp)
        suite = unittest.defaultTestLoader.loadTestsFromNames(NAMES)
        runner = unittest.TextTestRunner(verbosity=1, resultclass=Recorder)
        result = runner.run(suite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(out, "w") as f:
        json.dump(result.outcomes, f, indent=0, sort_keys=True)
    counts = {}
    for v in result.outcomes.values():
        counts[v] = counts.get(v, 0) + 1
    print("cpython_suite: ran %d, %s" % (result.testsRun, counts))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
