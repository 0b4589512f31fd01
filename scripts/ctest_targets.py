#!/usr/bin/env python3
"""Print the executables that the tests of a configured (not yet built) CMake tree run.

Usage: ctest_targets.py BUILD_DIR INCLUDE_LABEL[,LABEL...] [EXCLUDE_LABEL[,LABEL...]]

Reads every CTestTestfile.cmake under BUILD_DIR (ctest itself cannot list the commands of
executables that do not exist yet) and prints, space-separated, the base names of the files in
BUILD_DIR named on the command lines of the tests that carry an included label and no excluded
one. Those are CMake target names (scripts/test.sh builds only them for the sanitizer run; a test
that runs another tool of the tree declares it with add_dependencies).
"""
import os
import re
import sys


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 64
    build = os.path.abspath(sys.argv[1]) + "/"
    include = set(sys.argv[2].split(","))
    exclude = set(sys.argv[3].split(",")) if len(sys.argv) == 4 else set()
    names = set()
    for root, _, files in os.walk(build):
        if "CTestTestfile.cmake" not in files:
            continue
        with open(os.path.join(root, "CTestTestfile.cmake"), encoding="utf-8") as f:
            text = f.read()
        commands = {m.group(1): re.findall(r'"([^"]*)"', m.group(2))
                    for m in re.finditer(r'^add_test\(\[=\[(.+?)\]=\]\s+(.*)\)$', text, re.M)}
        for m in re.finditer(r'^set_tests_properties\(\[=\[(.+?)\]=\] PROPERTIES (.*)\)$', text, re.M):
            found = re.search(r'LABELS "([^"]*)"', m.group(2))
            labels = set(filter(None, found.group(1).split(";"))) if found else set()
            if labels & include and not labels & exclude:
                names.update(os.path.basename(a) for a in commands.get(m.group(1), []) if a.startswith(build))
    if not names:
        print(f"no test executables with labels {sorted(include)} in {build}", file=sys.stderr)
        return 1
    print(" ".join(sorted(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
