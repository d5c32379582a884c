"""Python worker for bench/compare: loads the cases, then times RequestValidator.validate on request.

Usage: python_worker.py [--module twilio|twilio_webhook] [--accessor getall|getlist|pairs] CASES

`--module` picks whose RequestValidator runs: twilio-python's, or this project's Python package (the
drop-in, same API). `--accessor` picks the shape the form parameters are handed over in: a multidict with
`getall` (aiohttp, multidict: twilio-python's fastest), a mapping with only `getlist` (werkzeug/Flask, Django
`QueryDict`: twilio-python raises and catches an AttributeError per key), or a list of pairs.

Protocol (one line each way): the driver sends `select IDS_FILE`, `run GROUP MIN_MS` or `quit`; the worker
answers with one JSON object per command. The first line the worker writes lists the ids it validates as
`expected`, so the driver can keep only cases on which every contestant is right.
"""
import argparse
import importlib
import json
import sys
import time


class _Multi(dict):
    """A dict of each key's first value that also keeps every value of a repeated key."""

    def __init__(self, pairs):
        super().__init__()
        self._lists = {}
        for k, v in pairs:
            self._lists.setdefault(k, []).append(v)
            self.setdefault(k, v)


class GetAll(_Multi):
    """A multidict with getall(), as aiohttp and multidict hand them over."""

    def getall(self, key):
        return self._lists[key]


class GetList(_Multi):
    """A mapping with only getlist(), the shape of werkzeug's MultiDict (Flask) and Django's QueryDict."""

    def getlist(self, key):
        return self._lists.get(key, [])


ACCESSORS = {"getall": GetAll, "getlist": GetList, "pairs": lambda pairs: [tuple(p) for p in pairs]}


def group_of(case):
    if case["kind"] == "json":
        return "json_valid" if case["expected"] else None
    return "form_valid" if case["expected"] else "form_rejected"


def prepare(case, RequestValidator, shape):
    validator = RequestValidator(case["auth_token"])
    params = case["body"] if case["kind"] == "json" else shape(case["params"])
    return (validator.validate, case["url"], params, case["signature"] or "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", choices=["twilio", "twilio_webhook"], default="twilio")
    parser.add_argument("--accessor", choices=sorted(ACCESSORS), default="getall")
    parser.add_argument("cases")
    args = parser.parse_args()
    module = importlib.import_module(args.module)
    if args.module == "twilio":
        from twilio.request_validator import RequestValidator
    else:
        RequestValidator = module.RequestValidator
    shape = ACCESSORS[args.accessor]
    cases = [json.loads(line) for line in open(args.cases, encoding="utf-8")]
    prepared = {
        c["id"]: (group_of(c), c["expected"], prepare(c, RequestValidator, shape))
        for c in cases
        if group_of(c)
    }
    ok = []
    for cid, (_, expected, (validate, url, params, sig)) in prepared.items():
        try:
            if bool(validate(url, params, sig)) == expected:
                ok.append(cid)
        except Exception:  # an SDK that throws is simply not right on that case
            pass
    print(json.dumps({"ready": True, "ok": ok, "version": module.__version__}), flush=True)
    groups = {}
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "select":
            keep = set(json.load(open(cmd[1], encoding="utf-8")))
            groups = {}
            for cid, (group, _, prep) in prepared.items():
                if cid in keep:
                    groups.setdefault(group, []).append(prep)
            print(json.dumps({"selected": {g: len(v) for g, v in groups.items()}}), flush=True)
        elif cmd[0] == "run":
            work = groups[cmd[1]]
            budget_ns = int(cmd[2]) * 1_000_000
            ops = 0
            start = time.perf_counter_ns()
            while True:
                for validate, url, params, sig in work:
                    validate(url, params, sig)
                ops += len(work)
                elapsed = time.perf_counter_ns() - start
                if elapsed >= budget_ns:
                    break
            print(json.dumps({"ns_per_op": elapsed / ops, "ops": ops}), flush=True)


if __name__ == "__main__":
    main()
