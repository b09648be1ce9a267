package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func fullAt(rev int64, t time.Time) fullObject {
	return fullObject{Name: fullKey("00000000000000aa", rev, t), Revision: rev, taken: t, Taken: t.Format(time.RFC3339)}
}

func deltaOf(first, last int64, from, to time.Time) deltaObject {
	return deltaObject{Name: "delta/" + itoa(first) + "-" + itoa(last), First: first, Last: last, from: from, to: to}
}

func TestPlanPicksTheNewestFullAtOrBeforeThePointAndTheDeltasToIt(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	fulls := []fullObject{fullAt(10, t0), fullAt(50, t0.Add(time.Hour))}
	deltas := []deltaObject{
		deltaOf(11, 30, t0, t0.Add(time.Minute)),
		deltaOf(31, 60, t0.Add(time.Minute), t0.Add(61*time.Minute)),
		deltaOf(61, 70, t0.Add(61*time.Minute), t0.Add(62*time.Minute)),
	}
	now := t0.Add(2 * time.Hour)
	base, chain, err := plan(fulls, deltas, target{revision: 40}, now)
	if err != nil || base.Revision != 10 || len(chain) != 2 || chain[1].Last != 60 {
		t.Fatalf("revision 40: base %d, %d deltas, %v", base.Revision, len(chain), err)
	}
	// The newest: the newest full snapshot, then the deltas after it (the one that straddles it too).
	base, chain, err = plan(fulls, deltas, target{}, now)
	if err != nil || base.Revision != 50 || len(chain) != 2 || chain[0].First != 31 || chain[1].Last != 70 {
		t.Fatalf("newest: base %d, chain %v, %v", base.Revision, chain, err)
	}
	// A time: the full snapshot taken at or before it.
	base, _, err = plan(fulls, deltas, target{time: t0.Add(30 * time.Minute)}, now)
	if err != nil || base.Revision != 10 {
		t.Fatalf("time: base %d, %v", base.Revision, err)
	}
}

func TestPlanRefusesPointsItCannotReach(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	fulls := []fullObject{fullAt(10, t0)}
	deltas := []deltaObject{deltaOf(11, 20, t0, t0.Add(time.Second)), deltaOf(25, 30, t0.Add(2*time.Second), t0.Add(3*time.Second))}
	now := t0.Add(time.Hour)
	for _, c := range []struct {
		t    target
		want string
	}{
		{target{revision: 31}, "revision 31 is past the newest backed-up revision (30)"},
		{target{revision: 5}, "revision 5 is before the oldest full snapshot (revision 10)"},
		{target{time: now.Add(time.Minute)}, "is in the future"},
		{target{time: t0.Add(-time.Minute)}, "is before the oldest full snapshot"},
		{target{revision: 26}, "the deltas have a gap: revisions 21 to 24 are missing"},
		{target{}, "the deltas have a gap: revisions 21 to 24 are missing"},
	} {
		_, _, err := plan(fulls, deltas, c.t, now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.t, err, c.want)
		}
	}
	if _, _, err := plan(nil, nil, target{}, now); err == nil || !strings.Contains(err.Error(), "no full snapshot") {
		t.Errorf("empty store: %v", err)
	}
	// Up to the gap is fine.
	if _, chain, err := plan(fulls, deltas, target{revision: 20}, now); err != nil || len(chain) != 1 {
		t.Errorf("revision 20: %v %v", chain, err)
	}
}

func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/c"
	write := func(s string) { _ = writeFile(path, s) }
	write("# the store\nAWS_ACCESS_KEY_ID=abc\nAWS_SECRET_ACCESS_KEY=\"s3cr=t\"\n")
	if id, secret, err := readCredentials(path); err != nil || id != "abc" || secret != "s3cr=t" {
		t.Fatalf("%q %q %v", id, secret, err)
	}
	write("AWS_ACCESS_KEY_ID=abc\n")
	if _, _, err := readCredentials(path); err == nil || !strings.Contains(err.Error(), "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("%v", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestRetentionKeepsTheNewestFullSnapshotsAndTheDeltasTheyNeed(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l := &lineage{
		Full:  []fullObject{fullAt(10, t0), fullAt(50, t0), fullAt(90, t0)},
		Delta: []deltaObject{deltaOf(11, 49, t0, t0), deltaOf(50, 60, t0, t0), deltaOf(61, 95, t0, t0)},
	}
	got := retired(l, 2)
	// The oldest full snapshot and the delta that ends before the oldest kept one (50); the delta that
	// straddles it and everything later stay.
	if strings.Join(got, ",") != l.Full[0].Name+",delta/11-49" {
		t.Fatalf("retired %v", got)
	}
	if got := retired(l, 3); got != nil {
		t.Fatalf("keep 3 of 3: retired %v", got)
	}
	if got := retired(l, 1); len(got) != 4 || got[len(got)-1] != "delta/50-60" {
		t.Fatalf("keep 1: retired %v", got)
	}
}
