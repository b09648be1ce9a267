package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

type fixture struct {
	Rules []struct {
		Case    string   `json:"case"`
		DBSize  int64    `json:"dbSize"`
		InUse   int64    `json:"inUse"`
		Reasons []string `json:"reasons"`
		Full    bool     `json:"full"`
		rule
	} `json:"rules"`
	Order []struct {
		Case    string `json:"case"`
		Members []struct {
			Name   string `json:"name"`
			Leader bool   `json:"leader"`
		} `json:"members"`
		Expect []string `json:"expect"`
	} `json:"order"`
}

func readFixture(t *testing.T) fixture {
	t.Helper()
	data, err := os.ReadFile("testdata/defrag-rule.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Rules) == 0 || len(f.Order) == 0 {
		t.Fatal("the fixture has no cases")
	}
	return f
}

func TestRuleFixture(t *testing.T) {
	for _, c := range readFixture(t).Rules {
		got := c.rule.decide(c.DBSize, c.InUse)
		want := decision{Reasons: c.Reasons, Full: c.Full}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", c.Case, got, want)
		}
	}
}

func TestOrderFixture(t *testing.T) {
	for _, c := range readFixture(t).Order {
		var members []memberStatus
		for i, m := range c.Members {
			s := memberStatus{Name: m.Name, ID: uint64(i + 1)}
			members = append(members, s)
		}
		for i, m := range c.Members {
			if m.Leader {
				for k := range members {
					members[k].Leader = uint64(i + 1)
				}
			}
		}
		var got []string
		for _, m := range order(members) {
			got = append(got, m.Name)
		}
		if !reflect.DeepEqual(got, c.Expect) {
			t.Errorf("%s: got %v, want %v", c.Case, got, c.Expect)
		}
	}
}

// fakeMember is one member of the fake cluster.
type fakeMember struct {
	name    string
	id      uint64
	db      int64
	inUse   int64
	learner bool
	// down: Status fails; downAfterDefrag: it stops answering once defragmented.
	down, downAfterDefrag bool
	// afterCompact is what is in use once the history is compacted.
	afterCompact int64
}

type fakeCluster struct {
	members  []*fakeMember
	leader   uint64
	revision int64
	alarms   []alarmInfo
	calls    []string
	// leaderOf overrides the leader a member reports (a split view).
	leaderOf map[string]uint64
}

func newFake(leader int, sizes ...[2]int64) *fakeCluster {
	f := &fakeCluster{revision: 1000, leaderOf: map[string]uint64{}}
	for i, s := range sizes {
		f.members = append(f.members, &fakeMember{name: fmt.Sprintf("c-primary-%d", i+1), id: uint64(0x10 + i), db: s[0], inUse: s[1], afterCompact: s[1]})
	}
	f.leader = f.members[leader-1].id
	return f
}

func (f *fakeCluster) byEndpoint(ep string) *fakeMember {
	for _, m := range f.members {
		if "http://"+m.name+":2379" == ep {
			return m
		}
	}
	return nil
}

func (f *fakeCluster) Members(context.Context) ([]memberInfo, error) {
	var out []memberInfo
	for _, m := range f.members {
		out = append(out, memberInfo{ID: m.id, Name: m.name, ClientURL: "http://" + m.name + ":2379", Learner: m.learner})
	}
	return out, nil
}

func (f *fakeCluster) Status(_ context.Context, ep string) (memberStatus, error) {
	m := f.byEndpoint(ep)
	if m == nil || m.down {
		return memberStatus{}, errors.New("context deadline exceeded")
	}
	leader := f.leader
	if l, ok := f.leaderOf[m.name]; ok {
		leader = l
	}
	return memberStatus{Leader: leader, DBSize: m.db, InUse: m.inUse, RaftIndex: 500, RaftApplied: 500, Revision: f.revision}, nil
}

func (f *fakeCluster) Alarms(context.Context) ([]alarmInfo, error) { return f.alarms, nil }

func (f *fakeCluster) Compact(_ context.Context, rev int64) error {
	f.calls = append(f.calls, fmt.Sprintf("compact %d", rev))
	for _, m := range f.members {
		m.inUse = m.afterCompact
	}
	return nil
}

func (f *fakeCluster) Defragment(_ context.Context, ep string) error {
	m := f.byEndpoint(ep)
	f.calls = append(f.calls, "defrag "+m.name)
	m.db = m.inUse
	if m.downAfterDefrag {
		m.down = true
	}
	return nil
}

func (f *fakeCluster) Disarm(_ context.Context, a alarmInfo) error {
	f.calls = append(f.calls, fmt.Sprintf("disarm %s %x", a.Alarm, a.MemberID))
	var left []alarmInfo
	for _, x := range f.alarms {
		if x != a {
			left = append(left, x)
		}
	}
	f.alarms = left
	return nil
}

const mb = 1 << 20

func testDefragmenter(f *fakeCluster, r rule) *defragmenter {
	d := newDefragmenter(f, r)
	d.settle, d.poll = 50*time.Millisecond, 5*time.Millisecond
	return d
}

var rule16 = rule{QuotaBytes: 16 * mb, QuotaPercent: 80, ReclaimableBytes: 200 * mb}

func TestCheckDefragmentsWhatTheRuleSaysFollowersFirstLeaderLast(t *testing.T) {
	// primary-1 leads; 1 and 3 are over 80 % of the quota, 2 is not.
	f := newFake(1, [2]int64{14 * mb, 2 * mb}, [2]int64{4 * mb, 2 * mb}, [2]int64{15 * mb, 3 * mb})
	runs := testDefragmenter(f, rule16).check(context.Background())
	if want := []string{"defrag c-primary-3", "defrag c-primary-1"}; !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("calls %v, want %v", f.calls, want)
	}
	if len(runs) != 1 || runs[0].Run != "defrag" || runs[0].Result != resultDone {
		t.Fatalf("runs %+v", runs)
	}
	s := runs[0].Steps
	if len(s) != 2 || s[0].Role != "follower" || s[1].Role != "leader" || s[0].BeforeBytes != 15*mb || s[0].AfterBytes != 3*mb {
		t.Fatalf("steps %+v", s)
	}
	if !strings.Contains(s[0].Reason, "93.7% of the quota 16.0 MiB (over 80%)") {
		t.Fatalf("reason %q", s[0].Reason)
	}
}

func TestCheckWithNothingToDoJournalsNothing(t *testing.T) {
	f := newFake(2, [2]int64{4 * mb, 3 * mb}, [2]int64{4 * mb, 3 * mb}, [2]int64{4 * mb, 3 * mb})
	var said []string
	d := testDefragmenter(f, rule16)
	d.say = func(m map[string]any) { said = append(said, fmt.Sprint(m["msg"])) }
	if runs := d.check(context.Background()); len(runs) != 0 || len(f.calls) != 0 {
		t.Fatalf("runs %+v, calls %v", runs, f.calls)
	}
	if !reflect.DeepEqual(said, []string{"defrag check: nothing to defragment"}) {
		t.Fatalf("said %v", said)
	}
}

func TestNoDefragmentationWhileAVoterDoesNotAnswerOrALearnerIsPending(t *testing.T) {
	f := newFake(1, [2]int64{15 * mb, 1 * mb}, [2]int64{15 * mb, 1 * mb}, [2]int64{15 * mb, 1 * mb})
	f.members[1].down = true
	if runs := testDefragmenter(f, rule16).check(context.Background()); len(runs) != 0 || len(f.calls) != 0 {
		t.Fatalf("with a member down: runs %+v, calls %v", runs, f.calls)
	}
	f.members[1].down, f.members[2].learner = false, true
	if runs := testDefragmenter(f, rule16).check(context.Background()); len(runs) != 0 || len(f.calls) != 0 {
		t.Fatalf("with a learner: runs %+v, calls %v", runs, f.calls)
	}
}

func TestNoDefragmentationWhileTheVotersDisagreeOnTheLeaderJournaledOnce(t *testing.T) {
	f := newFake(1, [2]int64{15 * mb, 1 * mb}, [2]int64{15 * mb, 1 * mb}, [2]int64{15 * mb, 1 * mb})
	f.leaderOf["c-primary-3"] = 0
	d := testDefragmenter(f, rule16)
	runs := d.check(context.Background())
	if len(runs) != 1 || runs[0].Result != resultSkipped || !strings.Contains(runs[0].Message, "do not agree on a leader") || len(f.calls) != 0 {
		t.Fatalf("runs %+v, calls %v", runs, f.calls)
	}
	if again := d.check(context.Background()); len(again) != 0 {
		t.Fatalf("the same skip journaled again: %+v", again)
	}
}

func TestARunStopsWhenAMemberDoesNotComeBack(t *testing.T) {
	f := newFake(1, [2]int64{15 * mb, 1 * mb}, [2]int64{15 * mb, 1 * mb}, [2]int64{15 * mb, 1 * mb})
	f.members[1].downAfterDefrag = true
	runs := testDefragmenter(f, rule16).check(context.Background())
	if !reflect.DeepEqual(f.calls, []string{"defrag c-primary-2"}) {
		t.Fatalf("calls %v", f.calls)
	}
	if len(runs) != 1 || runs[0].Result != resultStopped || !strings.Contains(runs[0].Message, "after c-primary-2: the cluster is not healthy") {
		t.Fatalf("runs %+v", runs)
	}
}

func TestNospaceIsReclaimedCompactDefragmentEveryMemberDisarm(t *testing.T) {
	// Full of history: compaction leaves 2 MiB in use.
	f := newFake(2, [2]int64{16 * mb, 15 * mb}, [2]int64{16 * mb, 15 * mb}, [2]int64{16 * mb, 15 * mb})
	for _, m := range f.members {
		m.afterCompact = 2 * mb
	}
	f.alarms = []alarmInfo{{MemberID: f.members[0].id, Alarm: "NOSPACE"}}
	runs := testDefragmenter(f, rule16).check(context.Background())
	want := []string{"compact 1000", "defrag c-primary-1", "defrag c-primary-3", "defrag c-primary-2", "disarm NOSPACE 10"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("calls %v, want %v", f.calls, want)
	}
	if len(runs) != 1 || runs[0].Run != "reclaim" || runs[0].Result != resultDone || runs[0].CompactedTo != 1000 ||
		!reflect.DeepEqual(runs[0].Disarmed, []string{"NOSPACE on c-primary-1"}) || runs[0].Steps[2].Role != "leader" {
		t.Fatalf("runs %+v", runs)
	}
	if !strings.HasPrefix(runs[0].Message, "NOSPACE alarm on c-primary-1; compacted up to revision 1000") {
		t.Fatalf("message %q", runs[0].Message)
	}
}

func TestNospaceWithTheDataItselfOverTheThresholdIsNotDisarmedAndWaitsForDeletes(t *testing.T) {
	f := newFake(1, [2]int64{16 * mb, 15 * mb}, [2]int64{16 * mb, 15 * mb}, [2]int64{16 * mb, 15 * mb})
	for _, m := range f.members {
		m.afterCompact = 14 * mb
	}
	f.alarms = []alarmInfo{{MemberID: f.members[2].id, Alarm: "NOSPACE"}}
	d := testDefragmenter(f, rule16)
	runs := d.check(context.Background())
	if len(runs) != 1 || runs[0].Result != resultNotDisarmed || !strings.Contains(runs[0].Message, "delete keys") || len(f.alarms) != 1 {
		t.Fatalf("runs %+v, alarms %v", runs, f.alarms)
	}
	if strings.Contains(strings.Join(f.calls, ","), "disarm") {
		t.Fatalf("disarmed: %v", f.calls)
	}
	// Nothing deleted since: the next check waits for a person.
	f.calls = nil
	if again := d.check(context.Background()); len(again) != 0 || len(f.calls) != 0 {
		t.Fatalf("again: runs %+v, calls %v", again, f.calls)
	}
	// A person deleted keys (the revision moved): it reclaims again, and now there is room.
	f.revision = 1005
	for _, m := range f.members {
		m.afterCompact = 1 * mb
	}
	runs = d.check(context.Background())
	if len(runs) != 1 || runs[0].Result != resultDone || len(f.alarms) != 0 || f.calls[0] != "compact 1005" {
		t.Fatalf("after deletes: runs %+v, calls %v", runs, f.calls)
	}
}

func TestAFullMemberIsJournaledOnceAndNotDefragmented(t *testing.T) {
	f := newFake(1, [2]int64{15 * mb, 14 * mb}, [2]int64{4 * mb, 3 * mb}, [2]int64{4 * mb, 3 * mb})
	d := testDefragmenter(f, rule16)
	runs := d.check(context.Background())
	if len(runs) != 1 || runs[0].Result != resultWarning || !strings.Contains(runs[0].Message, "c-primary-1 uses 14.0 MiB") || len(f.calls) != 0 {
		t.Fatalf("runs %+v, calls %v", runs, f.calls)
	}
	// Its size moves with every write: still journaled once.
	f.members[0].db, f.members[0].inUse = 15*mb+4096, 14*mb+4096
	if again := d.check(context.Background()); len(again) != 0 {
		t.Fatalf("journaled again: %+v", again)
	}
	// Another member joins it: journaled again.
	f.members[1].db, f.members[1].inUse = 15*mb, 14*mb
	if again := d.check(context.Background()); len(again) != 1 || !strings.Contains(again[0].Message, "c-primary-2 uses 14.0 MiB") {
		t.Fatalf("with a second full member: %+v", again)
	}
}

func TestJournalKeepsTheNewestRuns(t *testing.T) {
	j := newJournal(t.TempDir())
	if all, err := j.read(); err != nil || len(all) != 0 {
		t.Fatalf("empty journal: %v %v", all, err)
	}
	for i := 0; i < 2*journalKeep+1; i++ {
		if err := j.add(runEntry{Time: fmt.Sprint(i), Run: "defrag", Result: resultDone}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := j.read()
	if err != nil || len(all) != journalKeep || all[0].Time != fmt.Sprint(journalKeep+1) || all[len(all)-1].Time != fmt.Sprint(2*journalKeep) || all[0].Steps == nil {
		t.Fatalf("%d runs, first %+v, err %v", len(all), all[0], err)
	}
}
