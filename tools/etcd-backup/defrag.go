// The scheduled defragmenter of the backup container (spec `defrag`).
//
// Every check it reads each voter's status and applies etcd's rule (the pure `rule.decide` below, the
// same cases as lib/runtime/space.ts through testdata/defrag-rule.json): defragment a member when its
// database exceeds quotaPercent of the quota, or when at least reclaimableBytes could be given back (size
// minus size in use). It defragments one member at a time, followers first and the leader last, and only
// while every voter is healthy (answers, agrees on the leader, has applied what was committed); after each
// member it waits until every voter is healthy again before the next, and stops the run otherwise.
//
// When a member has raised NOSPACE it takes etcd's documented way out by itself: compact up to the
// current revision, defragment every voter (the same order and checks), then disarm, but only when every
// database is back under quotaPercent of the quota: a cluster whose data itself fills the quota needs a
// person (delete keys or raise etcd.quotaBackendBytes), and disarming it would only raise the alarm again.
//
// Every run is one JSON line on stdout (the container's log) and in the journal (journal.go), which
// `etcd-cluster maintenance log` reads.
package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Reasons a member is defragmented (the codes the shared fixture and the TypeScript rule use).
const (
	reasonQuota       = "quota"
	reasonReclaimable = "reclaimable"
	// A member over the threshold whose data in use is over it too: defragmenting cannot help.
	warnFull = "full"
)

// rule is etcd's defragmentation rule with the cluster's numbers.
type rule struct {
	QuotaBytes       int64 `json:"quotaBytes"`
	QuotaPercent     int64 `json:"quotaPercent"`
	ReclaimableBytes int64 `json:"reclaimableBytes"`
}

// decision is what the rule says of one member.
type decision struct {
	Reasons []string `json:"reasons"`
	Full    bool     `json:"full"`
}

func (d decision) defrag() bool { return len(d.Reasons) > 0 }

// over says whether n bytes exceed quotaPercent of the quota.
func (r rule) over(n int64) bool { return n*100 > r.QuotaBytes*r.QuotaPercent }

// decide applies the rule to a database of dbSize bytes of which inUse are in use. The quota reason counts
// only when defragmenting brings the database back under the threshold (what is in use is under it):
// otherwise the member would be defragmented on every check for nothing, and the decision says Full.
func (r rule) decide(dbSize, inUse int64) decision {
	d := decision{Reasons: []string{}}
	if r.over(dbSize) {
		if r.over(inUse) {
			d.Full = true
		} else {
			d.Reasons = append(d.Reasons, reasonQuota)
		}
	}
	if r.ReclaimableBytes > 0 && dbSize-inUse >= r.ReclaimableBytes {
		d.Reasons = append(d.Reasons, reasonReclaimable)
	}
	return d
}

// why says a decision in words, for the log.
func (r rule) why(s memberStatus, d decision) string {
	var parts []string
	for _, code := range d.Reasons {
		switch code {
		case reasonQuota:
			parts = append(parts, fmt.Sprintf("database %s is %s of the quota %s (over %d%%)", mib(s.DBSize), percent(s.DBSize, r.QuotaBytes), mib(r.QuotaBytes), r.QuotaPercent))
		case reasonReclaimable:
			parts = append(parts, fmt.Sprintf("%s reclaimable (at least %s)", mib(s.DBSize-s.InUse), mib(r.ReclaimableBytes)))
		}
	}
	return strings.Join(parts, "; ")
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// percent says n as a percentage of `of`, to a tenth, rounded down (80.6 %, not 81 %: "over 80 %" must read true).
func percent(n, of int64) string {
	if of <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", float64(n*1000/of)/10)
}

// memberStatus is one voter as it answered.
type memberStatus struct {
	Name     string
	ID       uint64
	Endpoint string
	Leader   uint64
	DBSize   int64
	InUse    int64
	// RaftIndex is the last committed index it knows, RaftApplied what it has applied.
	RaftIndex   uint64
	RaftApplied uint64
	Revision    int64
}

func (s memberStatus) isLeader() bool { return s.ID != 0 && s.ID == s.Leader }

// order puts followers first (by name) and the leader last.
func order(members []memberStatus) []memberStatus {
	out := append([]memberStatus(nil), members...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].isLeader() != out[j].isLeader() {
			return !out[i].isLeader()
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// memberInfo is a member as the member list has it.
type memberInfo struct {
	ID        uint64
	Name      string
	ClientURL string
	Learner   bool
}

type alarmInfo struct {
	MemberID uint64
	// Alarm is etcd's name: NOSPACE, CORRUPT.
	Alarm string
}

// etcdAPI is what the defragmenter asks of the cluster (etcd.go has the real one; the tests a fake).
type etcdAPI interface {
	Members(ctx context.Context) ([]memberInfo, error)
	Status(ctx context.Context, endpoint string) (memberStatus, error)
	Alarms(ctx context.Context) ([]alarmInfo, error)
	// Compact compacts the history up to rev (physically); a revision compacted already is no error.
	Compact(ctx context.Context, rev int64) error
	Defragment(ctx context.Context, endpoint string) error
	Disarm(ctx context.Context, a alarmInfo) error
}

// maxApplyLag is etcd's own limit between committed and applied entries (beyond it a member refuses
// requests with "too many requests"): a voter further behind its leader is not healthy.
const maxApplyLag = 5000

// step is one member defragmented.
type step struct {
	Member      string  `json:"member"`
	Role        string  `json:"role"`
	Reason      string  `json:"reason"`
	BeforeBytes int64   `json:"beforeBytes"`
	AfterBytes  int64   `json:"afterBytes"`
	Seconds     float64 `json:"seconds"`
}

// Results of a run.
const (
	resultDone        = "done"
	resultSkipped     = "skipped"
	resultStopped     = "stopped"
	resultNotDisarmed = "not disarmed"
	resultWarning     = "needs a person"
)

// runEntry is one run of the defragmenter, as the journal and the container's log keep it.
type runEntry struct {
	Time string `json:"time"`
	// Run is "defrag" (the rule), "reclaim" (NOSPACE) or "check" (a warning found by a check).
	Run         string   `json:"run"`
	Result      string   `json:"result"`
	Message     string   `json:"message,omitempty"`
	CompactedTo int64    `json:"compactedTo,omitempty"`
	Disarmed    []string `json:"disarmed,omitempty"`
	Steps       []step   `json:"steps"`
}

// defragmenter checks the cluster and defragments it when the rule says so.
type defragmenter struct {
	api  etcdAPI
	rule rule
	// settle is how long a defragmented member (and every other voter) may take to be healthy again.
	settle time.Duration
	poll   time.Duration
	// callTimeout bounds each question; defragTimeout one member's defragmentation.
	callTimeout   time.Duration
	defragTimeout time.Duration
	now           func() time.Time
	// lastWarning (the members too full for defragmentation to help) and lastSkip (the last "skipped" run)
	// are what was journaled last: the same is journaled once (and said on stdout at every check).
	lastWarning, lastSkip string
	// stuckAt is the revision at which the last reclaim could not disarm: nothing but a person's deletes
	// changes it while NOSPACE is active, so the next reclaim waits for them.
	stuckAt int64
	// say logs a line that is not a run (a check that found nothing to do) on stdout.
	say func(fields map[string]any)
}

func newDefragmenter(api etcdAPI, r rule) *defragmenter {
	return &defragmenter{
		api: api, rule: r,
		settle: 2 * time.Minute, poll: 500 * time.Millisecond,
		callTimeout: 10 * time.Second, defragTimeout: 10 * time.Minute,
		now: time.Now, say: func(map[string]any) {},
	}
}

// check looks at the cluster once and does what the rule says; it returns the runs to journal (none when
// there was nothing to do).
func (d *defragmenter) check(ctx context.Context) []runEntry {
	alarms, err := d.alarms(ctx)
	if err != nil {
		d.say(map[string]any{"msg": "defrag check failed", "error": err.Error()})
		return nil
	}
	if nospace := filterAlarms(alarms, "NOSPACE"); len(nospace) > 0 {
		e := d.reclaim(ctx, nospace)
		switch {
		case e == nil:
			return nil
		case e.Result == resultSkipped:
			return d.skipped(*e)
		default:
			d.lastSkip = ""
			return []runEntry{*e}
		}
	}
	d.stuckAt = 0
	voters, err := d.survey(ctx)
	if err != nil {
		// Nothing can be decided without every voter's status: said on stdout, not journaled (a member
		// down is the verifier's business; the journal records what the defragmenter did or could not do).
		d.say(map[string]any{"msg": "defrag check failed", "error": err.Error()})
		return nil
	}
	var todo []memberStatus
	reasons := map[string]string{}
	var full, fullNames []string
	for _, s := range voters {
		dec := d.rule.decide(s.DBSize, s.InUse)
		if dec.defrag() {
			todo = append(todo, s)
			reasons[s.Name] = d.rule.why(s, dec)
		}
		if dec.Full {
			full = append(full, fmt.Sprintf("%s uses %s of its %s database (%s of the quota %s)", s.Name, mib(s.InUse), mib(s.DBSize), percent(s.InUse, d.rule.QuotaBytes), mib(d.rule.QuotaBytes)))
			fullNames = append(fullNames, s.Name)
		}
	}
	var out []runEntry
	if len(full) > 0 {
		msg := strings.Join(full, "; ") + fmt.Sprintf(": defragmenting cannot bring it under %d%% of the quota; delete keys or raise etcd.quotaBackendBytes", d.rule.QuotaPercent)
		d.say(map[string]any{"msg": "defrag check: needs a person", "why": msg})
		// Journaled once per set of members (their sizes move with every write).
		if names := strings.Join(fullNames, ","); names != d.lastWarning {
			d.lastWarning = names
			out = append(out, runEntry{Time: d.stamp(), Run: "check", Result: resultWarning, Message: msg, Steps: []step{}})
		}
	} else {
		d.lastWarning = ""
	}
	if len(todo) == 0 {
		sizes := map[string]int64{}
		for _, s := range voters {
			sizes[s.Name] = s.DBSize
		}
		d.say(map[string]any{"msg": "defrag check: nothing to defragment", "dbSizes": sizes})
		return out
	}
	e := runEntry{Time: d.stamp(), Run: "defrag", Steps: []step{}}
	if err := d.healthy(voters); err != nil {
		e.Result, e.Message = resultSkipped, err.Error()
		return append(out, d.skipped(e)...)
	}
	d.lastSkip = ""
	e.Result, e.Message = d.defragment(ctx, order(todo), reasons, &e)
	return append(out, e)
}

// skipped returns a skipped run to journal, unless the last one journaled said the same.
func (d *defragmenter) skipped(e runEntry) []runEntry {
	d.say(map[string]any{"msg": e.Run + " skipped", "why": e.Message})
	if e.Run+e.Message == d.lastSkip {
		return nil
	}
	d.lastSkip = e.Run + e.Message
	return []runEntry{e}
}

// reclaim is etcd's way out of NOSPACE: compact, defragment every voter, disarm.
func (d *defragmenter) reclaim(ctx context.Context, nospace []alarmInfo) *runEntry {
	e := runEntry{Time: d.stamp(), Run: "reclaim", Steps: []step{}}
	voters, err := d.survey(ctx)
	if err == nil {
		err = d.healthy(voters)
	}
	if err != nil {
		e.Result, e.Message = resultSkipped, fmt.Sprintf("%s; %s", alarmText(nospace, voters), err)
		return &e
	}
	leader := order(voters)[len(voters)-1]
	if d.stuckAt != 0 && leader.Revision == d.stuckAt {
		d.say(map[string]any{"msg": "NOSPACE: waiting for a person (nothing deleted since the last reclaim)", "revision": leader.Revision})
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.callTimeout)
	err = d.api.Compact(cctx, leader.Revision)
	cancel()
	if err != nil {
		e.Result, e.Message = resultStopped, fmt.Sprintf("%s; compacting up to revision %d failed: %s", alarmText(nospace, voters), leader.Revision, err)
		return &e
	}
	e.CompactedTo = leader.Revision
	reasons := map[string]string{}
	for _, s := range voters {
		reasons[s.Name] = "NOSPACE: every member"
	}
	result, msg := d.defragment(ctx, order(voters), reasons, &e)
	if result != resultDone {
		e.Result, e.Message = result, fmt.Sprintf("%s; %s", alarmText(nospace, voters), msg)
		return &e
	}
	var over []string
	for _, s := range e.Steps {
		if d.rule.over(s.AfterBytes) {
			over = append(over, fmt.Sprintf("%s %s (%s)", s.Member, mib(s.AfterBytes), percent(s.AfterBytes, d.rule.QuotaBytes)))
		}
	}
	if len(over) > 0 {
		d.stuckAt = leader.Revision
		e.Result = resultNotDisarmed
		e.Message = fmt.Sprintf("%s; compacted and defragmented, but the data itself is over %d%% of the quota %s: %s; delete keys (deletes are allowed under NOSPACE) or raise etcd.quotaBackendBytes, and it reclaims again (or etcd-cluster reclaim)",
			alarmText(nospace, voters), d.rule.QuotaPercent, mib(d.rule.QuotaBytes), strings.Join(over, ", "))
		return &e
	}
	for _, a := range nospace {
		cctx, cancel := context.WithTimeout(ctx, d.callTimeout)
		err := d.api.Disarm(cctx, a)
		cancel()
		if err != nil {
			e.Result, e.Message = resultStopped, fmt.Sprintf("%s; disarming failed: %s", alarmText(nospace, voters), err)
			return &e
		}
		e.Disarmed = append(e.Disarmed, fmt.Sprintf("%s on %s", a.Alarm, nameOf(a.MemberID, voters)))
	}
	d.stuckAt = 0
	e.Result, e.Message = resultDone, fmt.Sprintf("%s; compacted up to revision %d, defragmented every member, disarmed", alarmText(nospace, voters), e.CompactedTo)
	return &e
}

// defragment defragments the members in this order, each only while every voter is healthy, and records
// each step in e; it returns the run's result and why it stopped.
func (d *defragmenter) defragment(ctx context.Context, members []memberStatus, reasons map[string]string, e *runEntry) (string, string) {
	for _, m := range members {
		voters, err := d.survey(ctx)
		if err == nil {
			err = d.healthy(voters)
		}
		if err != nil {
			return resultStopped, fmt.Sprintf("before %s: %s", m.Name, err)
		}
		before := m.DBSize
		for _, v := range voters {
			if v.Name == m.Name {
				before = v.DBSize
			}
		}
		role := "follower"
		if m.isLeader() {
			role = "leader"
		}
		start := d.now()
		cctx, cancel := context.WithTimeout(ctx, d.defragTimeout)
		err = d.api.Defragment(cctx, m.Endpoint)
		cancel()
		if err != nil {
			return resultStopped, fmt.Sprintf("defragmenting %s failed: %s", m.Name, err)
		}
		after, err := d.settled(ctx, m.Name)
		if err != nil {
			return resultStopped, fmt.Sprintf("after %s: %s", m.Name, err)
		}
		e.Steps = append(e.Steps, step{Member: m.Name, Role: role, Reason: reasons[m.Name], BeforeBytes: before, AfterBytes: after, Seconds: d.now().Sub(start).Seconds()})
	}
	return resultDone, ""
}

// settled waits until every voter is healthy again after a member's defragmentation; it returns that
// member's database size then.
func (d *defragmenter) settled(ctx context.Context, name string) (int64, error) {
	until := d.now().Add(d.settle)
	for {
		voters, err := d.survey(ctx)
		if err == nil {
			err = d.healthy(voters)
		}
		if err == nil {
			for _, v := range voters {
				if v.Name == name {
					return v.DBSize, nil
				}
			}
			err = fmt.Errorf("%s is no longer a voter", name)
		}
		if !d.now().Before(until) {
			return 0, fmt.Errorf("the cluster is not healthy %s later: %w", d.settle, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(d.poll):
		}
	}
}

// survey asks the member list and every voter's status. A learner, a member that has not started or one
// that does not answer is an error: the defragmenter works only on a cluster whose voters all answer.
func (d *defragmenter) survey(ctx context.Context) ([]memberStatus, error) {
	cctx, cancel := context.WithTimeout(ctx, d.callTimeout)
	members, err := d.api.Members(cctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("no member list: %w", err)
	}
	var out []memberStatus
	for _, m := range members {
		if m.Learner {
			return nil, fmt.Errorf("learner %s is pending: a membership change is under way", orID(m))
		}
		if m.ClientURL == "" {
			return nil, fmt.Errorf("member %s has not started", orID(m))
		}
		cctx, cancel := context.WithTimeout(ctx, d.callTimeout)
		s, err := d.api.Status(cctx, m.ClientURL)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s does not answer: %w", orID(m), err)
		}
		s.Name, s.ID, s.Endpoint = m.Name, m.ID, m.ClientURL
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("the member list is empty")
	}
	return out, nil
}

// healthy: the voters agree on a leader that is one of them, and each has applied what it knows committed.
func (d *defragmenter) healthy(voters []memberStatus) error {
	leader := voters[0].Leader
	found := false
	for _, v := range voters {
		if v.Leader == 0 || v.Leader != leader {
			return fmt.Errorf("the voters do not agree on a leader (%s)", leaders(voters))
		}
		found = found || v.ID == leader
	}
	if !found {
		return fmt.Errorf("the leader %x is not a voter", leader)
	}
	for _, v := range voters {
		if v.RaftIndex > v.RaftApplied+maxApplyLag {
			return fmt.Errorf("%s has applied %d of %d committed entries", v.Name, v.RaftApplied, v.RaftIndex)
		}
	}
	return nil
}

func (d *defragmenter) alarms(ctx context.Context) ([]alarmInfo, error) {
	cctx, cancel := context.WithTimeout(ctx, d.callTimeout)
	defer cancel()
	return d.api.Alarms(cctx)
}

func (d *defragmenter) stamp() string { return d.now().UTC().Format(time.RFC3339) }

func filterAlarms(all []alarmInfo, kind string) []alarmInfo {
	var out []alarmInfo
	for _, a := range all {
		if a.Alarm == kind {
			out = append(out, a)
		}
	}
	return out
}

func alarmText(alarms []alarmInfo, voters []memberStatus) string {
	var on []string
	for _, a := range alarms {
		on = append(on, nameOf(a.MemberID, voters))
	}
	return "NOSPACE alarm on " + strings.Join(on, ", ")
}

func nameOf(id uint64, voters []memberStatus) string {
	for _, v := range voters {
		if v.ID == id {
			return v.Name
		}
	}
	return fmt.Sprintf("%x", id)
}

func orID(m memberInfo) string {
	if m.Name != "" {
		return m.Name
	}
	return fmt.Sprintf("%x", m.ID)
}

func leaders(voters []memberStatus) string {
	var parts []string
	for _, v := range voters {
		parts = append(parts, fmt.Sprintf("%s: %x", v.Name, v.Leader))
	}
	return strings.Join(parts, ", ")
}
