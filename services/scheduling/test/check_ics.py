#!/usr/bin/env python3
"""Checks an iCalendar file with an independent parser (the `icalendar` library).

Usage: check_ics.py FILE.ics [EXPECTED.json]   (default: FILE.json beside it)

EXPECTED.json: {"calendar_name": str, "tzid": str,
                "events": [{"uid", "summary", "description", "location",
                            "start", "end" (UTC, "2026-11-02T01:00:00Z"),
                            "status", "geo": [lat, lng] or null}]}

Checks the raw form (CRLF line ends, lines of at most 75 octets that are
each valid UTF-8), then the parsed calendar: its name, one VTIMEZONE with
the expected TZID, and for each event its UID, round-tripped texts, status,
GEO and start/end instants. Local times are resolved twice: by the library
(the Olson zone of the TZID) and by the file's own VTIMEZONE, so a wrong
VTIMEZONE fails too. Exits 0 when everything matches, 1 otherwise.
"""

import json
import sys
from datetime import datetime, timezone

import icalendar

MAX_OCTETS = 75


def fail(errors, message):
    errors.append(message)


def check_raw(data, errors):
    if not data.endswith(b"\r\n"):
        fail(errors, "the file does not end with CRLF")
    lines = data.split(b"\r\n")[:-1]
    for number, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            fail(errors, f"line {number}: bare CR or LF")
        if len(line) > MAX_OCTETS:
            fail(errors, f"line {number}: {len(line)} octets (> {MAX_OCTETS})")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            fail(errors, f"line {number}: folding split a UTF-8 sequence ({e})")
    return len(lines)


def utc(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def check_instant(event, name, expected, tzid, vtimezone_tz, errors):
    uid = str(event.get("uid"))
    prop = event.get(name)
    if prop is None:
        fail(errors, f"{uid}: no {name.upper()}")
        return
    value = prop.dt
    if not isinstance(value, datetime) or value.tzinfo is None:
        fail(errors, f"{uid}: {name.upper()} {value!r} is not a zoned date-time")
        return
    if value.astimezone(timezone.utc) != expected:
        fail(errors, f"{uid}: {name.upper()} is {value.astimezone(timezone.utc)}, want {expected}")
    param = prop.params.get("TZID")
    if param is None:
        return  # written in UTC (the second pass through a repeated hour)
    if param != tzid:
        fail(errors, f"{uid}: {name.upper()} TZID {param!r}, want {tzid!r}")
    if vtimezone_tz is not None:
        own = vtimezone_tz.localize(value.replace(tzinfo=None)).astimezone(timezone.utc)
        if own != expected:
            fail(errors, f"{uid}: {name.upper()} by the file's VTIMEZONE is {own}, want {expected}")


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    ics_path = argv[1]
    json_path = argv[2] if len(argv) == 3 else ics_path.rsplit(".", 1)[0] + ".json"
    with open(ics_path, "rb") as f:
        data = f.read()
    with open(json_path, encoding="utf-8") as f:
        expected = json.load(f)

    errors = []
    line_count = check_raw(data, errors)
    cal = icalendar.Calendar.from_ical(data)
    if str(cal.get("version")) != "2.0":
        fail(errors, f"VERSION {cal.get('version')!r}")
    if str(cal.get("prodid")) != "-//crm-suite//scheduling//EN":
        fail(errors, f"PRODID {cal.get('prodid')!r}")
    if str(cal.get("x-wr-calname")) != expected["calendar_name"]:
        fail(errors, f"X-WR-CALNAME {str(cal.get('x-wr-calname'))!r}, want {expected['calendar_name']!r}")

    tzid = expected["tzid"]
    zones = cal.walk("VTIMEZONE")
    vtimezone_tz = None
    if len(zones) != 1 or str(zones[0].get("tzid")) != tzid:
        fail(errors, f"want one VTIMEZONE {tzid!r}, got {[str(z.get('tzid')) for z in zones]}")
    else:
        vtimezone_tz = zones[0].to_tz()

    events = {str(e.get("uid")): e for e in cal.walk("VEVENT")}
    if len(events) != len(expected["events"]):
        fail(errors, f"{len(events)} events, want {len(expected['events'])}")
    for want in expected["events"]:
        uid = want["uid"]
        event = events.get(uid)
        if event is None:
            fail(errors, f"no event with UID {uid!r} (have {sorted(events)})")
            continue
        for name in ("summary", "description", "location"):
            got = event.get(name)
            got = "" if got is None else str(got)
            if got != want[name]:
                fail(errors, f"{uid}: {name.upper()} {got!r}, want {want[name]!r}")
        if str(event.get("status")) != want["status"]:
            fail(errors, f"{uid}: STATUS {event.get('status')!r}, want {want['status']!r}")
        stamp = event.get("dtstamp")
        if stamp is None or stamp.dt.utcoffset() is None or stamp.dt.utcoffset().total_seconds() != 0:
            fail(errors, f"{uid}: DTSTAMP must be in UTC")
        check_instant(event, "dtstart", utc(want["start"]), tzid, vtimezone_tz, errors)
        check_instant(event, "dtend", utc(want["end"]), tzid, vtimezone_tz, errors)
        geo = event.get("geo")
        if want.get("geo") is None:
            if geo is not None:
                fail(errors, f"{uid}: unexpected GEO")
        elif geo is None:
            fail(errors, f"{uid}: no GEO")
        elif abs(geo.latitude - want["geo"][0]) > 1e-6 or abs(geo.longitude - want["geo"][1]) > 1e-6:
            fail(errors, f"{uid}: GEO {geo.latitude};{geo.longitude}, want {want['geo']}")

    for e in errors:
        print(f"check_ics: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"check_ics: OK, {len(events)} events, {line_count} lines, zone {tzid}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
