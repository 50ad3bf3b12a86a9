#!/usr/bin/env python3
"""Writes a man page (roff) from a program's own --help, and each subcommand's, so the page says
what the binary says. Used by the `man` target (cmake/install.cmake) for callbridged(8) and
callbridge(1); the Debian package ships them. Deterministic: no date unless SOURCE_DATE_EPOCH.

usage: manpage.py --program PATH --name NAME --section N --summary TEXT --out FILE [--see-also X]...
"""
import argparse
import datetime
import os
import re
import subprocess
import sys


def run_help(argv):
    r = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        sys.exit(f"manpage: {' '.join(argv)} --help exited {r.returncode}: {r.stderr.strip()}")
    # The usage line names the program by the path it was started with; the page names it plainly.
    return r.stdout.replace(argv[0], os.path.basename(argv[0]))


def roff_text(s):
    """Escapes text for roff: backslashes, and control characters at the start of a line."""
    out = []
    for line in s.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e").replace("-", "\\-")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def subcommands(help_text):
    """Names under 'Subcommands:' in CLI11's help (two-space indented, a name then its description)."""
    m = re.search(r"^Subcommands:\n((?:  .*\n?)+)", help_text, re.M)
    if not m:
        return []
    return [line.split()[0] for line in m.group(1).splitlines() if re.match(r"  \S", line)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--program", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--see-also", action="append", default=[])
    ap.add_argument("--files", default="", help="text of a FILES section")
    a = ap.parse_args()

    top = run_help([a.program])
    version = subprocess.run([a.program, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%d") if epoch else ""

    page = [f'.TH {a.name.upper()} {a.section} "{date}" "{version}" "callbridge"',
            ".SH NAME", f"{a.name} \\- {roff_text(a.summary)}",
            ".SH SYNOPSIS", f".B {a.name}", "[\\fIOPTIONS\\fR]" + (" \\fISUBCOMMAND\\fR" if subcommands(top) else ""),
            ".SH DESCRIPTION", "The text below is the program's own \\fB\\-\\-help\\fR.",
            ".PP", ".nf", roff_text(top), ".fi"]
    subs = subcommands(top)
    if subs:
        page.append(".SH SUBCOMMANDS")
        for sub in subs:
            text = run_help([a.program, sub])
            page += [".SS " + roff_text(sub), ".nf", roff_text(text), ".fi"]
    if a.files:
        page += [".SH FILES", roff_text(a.files)]
    if a.see_also:
        page += [".SH SEE ALSO", ", ".join(f"\\fB{s.split('(')[0]}\\fR({s.split('(')[1]}" for s in a.see_also)]
    with open(a.out, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
