package main

// The delta stream: between full snapshots the backup container follows the cluster's watch stream from
// the newest revision in the store and uploads what it saw every --delta-every, so that a lost host costs
// seconds of writes, not a whole schedule. Every revision of etcd is one write transaction with at least
// one event, so the deltas' revisions are continuous; when the watch cannot go on from where the store
// ends (the revision was compacted, or the store was away for so long that the events held back were
// given up), the gap is named in the log and closed with a new full snapshot.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// event is one change of one key, as a delta object holds it (a JSON line).
type event struct {
	Rev     int64  `json:"rev"`
	Sub     int64  `json:"sub"`
	Delete  bool   `json:"del,omitempty"`
	Key     []byte `json:"key"`
	Value   []byte `json:"value,omitempty"`
	Create  int64  `json:"create,omitempty"`
	Version int64  `json:"ver,omitempty"`
	Time    int64  `json:"t"` // when the container saw it, unix milliseconds
}

// deltaBatch is the events held until the next upload.
type deltaBatch struct {
	events           []event
	bytes            int
	delRev, delCount int64
	deletes          map[int64]int64
}

func (d *deltaBatch) first() int64 { return d.events[0].Rev }
func (d *deltaBatch) last() int64  { return d.events[len(d.events)-1].Rev }

func (d *deltaBatch) add(ev *clientv3.Event, seen time.Time) {
	e := event{Rev: ev.Kv.ModRevision, Key: ev.Kv.Key, Time: seen.UnixMilli()}
	if n := len(d.events); n > 0 && d.events[n-1].Rev == e.Rev {
		e.Sub = d.events[n-1].Sub + 1
	}
	if ev.Type == mvccpb.DELETE {
		e.Delete = true
		if d.deletes == nil {
			d.deletes = map[int64]int64{}
		}
		d.deletes[e.Rev]++
		if d.deletes[e.Rev] > d.delCount {
			d.delRev, d.delCount = e.Rev, d.deletes[e.Rev]
		}
	} else {
		e.Value, e.Create, e.Version = ev.Kv.Value, ev.Kv.CreateRevision, ev.Kv.Version
	}
	d.events = append(d.events, e)
	d.bytes += len(e.Key) + len(e.Value) + 64
}

func (d *deltaBatch) encode() []byte {
	var out []byte
	for _, e := range d.events {
		line, _ := json.Marshal(e)
		out = append(append(out, line...), '\n')
	}
	return out
}

// heldBackLimit is how many bytes of events the container holds while the store is away; past it they are
// given up and the gap is closed with a full snapshot once the store answers again.
const heldBackLimit = 256 << 20

// follower uploads the watch stream's events to the store.
type follower struct {
	cfg   clientv3.Config
	st    *store
	every time.Duration
	// full takes a full snapshot and uploads it, returning its revision; busy keeps it and the
	// defragmenter from running together.
	full func() (*snapshot, error)
	busy *sync.Mutex
	mu   sync.Mutex
	// stored is the newest revision in the store; behind says since when the store has not taken what
	// was seen (zero when it is up to date).
	stored int64
	behind time.Time
	// id is the lineage followed: the cluster ID of the cluster the watch is on.
	id string
	// problem is the store's last refusal, reported until an upload or a look at the store works.
	problem string
	// statusFile is where the position is written for `etcd-backup status` (and so for verify).
	statusFile string
}

// storeStatusFile holds the follower's position: the newest revision in the store, when it got there, and
// since when it has been behind (the store not taking what was seen).
const storeStatusFile = "store-status.json"

type storeStatus struct {
	Revision int64  `json:"revision"`
	At       string `json:"at"`
	Behind   string `json:"behindSince,omitempty"`
	// Error is the store's last refusal (credentials, bucket, another cluster's prefix, unreachable), until
	// it works again.
	Error string `json:"error,omitempty"`
}

// start claims the store's prefix (retrying while the store does not answer; refusing, and ending the
// container, when another cluster's backups are there), makes sure it holds a full snapshot, and follows.
func (f *follower) start(ctx context.Context, cluster string, claimed *atomic.Bool) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f.st.claim(cctx, cluster)
		cancel()
		if err == nil {
			break
		}
		var refused *claimRefused
		if errors.As(err, &refused) {
			f.failed(err)
			fail(err.Error())
		}
		f.failed(err)
		logLine(map[string]any{"msg": "store unreachable", "error": err.Error()})
		sleep(ctx, 5*time.Second)
	}
	claimed.Store(true)
	var from int64
	for {
		var err error
		if from, err = f.resume(ctx); err == nil {
			break
		}
		f.failed(err)
		logLine(map[string]any{"msg": "store not ready", "error": err.Error()})
		sleep(ctx, 5*time.Second)
	}
	logLine(map[string]any{"msg": "following", "clusterId": f.id, "from": from + 1})
	// The position is written every second by itself, so that it stays fresh while an upload hangs.
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.writeStatus()
			}
		}
	}()
	f.run(ctx, from)
}

// resume finds where the store's lineage of the running cluster ends, or starts it with a full snapshot.
func (f *follower) resume(ctx context.Context) (int64, error) {
	cli, err := clientv3.New(f.cfg)
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ml, err := cli.MemberList(cctx)
	if err != nil {
		return 0, err
	}
	all, err := f.st.inventory(cctx)
	if err != nil {
		return 0, err
	}
	if l := find(all, clusterID(ml.Header.ClusterId)); len(l.Full) > 0 {
		f.id = l.ID
		return l.Newest, nil
	}
	return f.closeGap()
}

func (f *follower) writeStatus() {
	rev, behind := f.position()
	f.mu.Lock()
	problem := f.problem
	f.mu.Unlock()
	s := storeStatus{Revision: rev, At: time.Now().UTC().Format(time.RFC3339Nano), Error: problem}
	if !behind.IsZero() {
		s.Behind = behind.UTC().Format(time.RFC3339Nano)
	}
	body, _ := json.Marshal(s)
	tmp := f.statusFile + ".part"
	if os.WriteFile(tmp, body, 0o600) == nil {
		_ = os.Rename(tmp, f.statusFile)
	}
}

func (f *follower) position() (int64, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored, f.behind
}

func (f *follower) setStored(rev int64) {
	f.mu.Lock()
	f.stored, f.behind, f.problem = rev, time.Time{}, ""
	f.mu.Unlock()
}

// failed records the store's refusal and writes it out at once (before the follower runs, nothing else
// writes the position).
func (f *follower) failed(err error) {
	f.mu.Lock()
	f.problem = err.Error()
	f.mu.Unlock()
	f.writeStatus()
}

func (f *follower) lagging(since time.Time) {
	f.mu.Lock()
	if f.behind.IsZero() {
		f.behind = since
	}
	f.mu.Unlock()
}

// run follows from the revision after from, for ever.
func (f *follower) run(ctx context.Context, from int64) {
	f.setStored(from)
	for ctx.Err() == nil {
		next, err := f.follow(ctx)
		if errors.Is(err, errGap) {
			logLine(map[string]any{"msg": "delta gap", "after": f.storedRev(), "reason": next.reason})
			rev, ferr := f.closeGap()
			if ferr != nil {
				logLine(map[string]any{"msg": "full snapshot after a gap failed", "error": ferr.Error()})
				sleep(ctx, 5*time.Second)
				continue
			}
			f.setStored(rev)
			continue
		}
		if err != nil {
			logLine(map[string]any{"msg": "watch interrupted", "error": err.Error()})
			sleep(ctx, time.Second)
		}
	}
}

func (f *follower) storedRev() int64 { r, _ := f.position(); return r }

// closeGap starts the lineage again from a full snapshot (of whichever cluster now answers).
func (f *follower) closeGap() (int64, error) {
	f.busy.Lock()
	defer f.busy.Unlock()
	s, err := f.full()
	if err != nil {
		return 0, err
	}
	f.id = clusterID(s.cluster)
	return s.Revision, nil
}

var errGap = errors.New("gap")

type stop struct{ reason string }

// follow watches from the stored revision + 1 until the watch ends or a gap opens; what it saw goes to the
// store every f.every, and what the store did not take is held (and the watch goes on) until it does.
func (f *follower) follow(ctx context.Context) (stop, error) {
	cli, err := clientv3.New(f.cfg)
	if err != nil {
		return stop{}, err
	}
	defer cli.Close()
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	start := f.storedRev() + 1
	wch := cli.Watch(wctx, "\x00", clientv3.WithFromKey(), clientv3.WithRev(start))
	batch := &deltaBatch{}
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	flush := func() {
		if len(batch.events) == 0 {
			return
		}
		// Behind from the first event not in the store, until the store has it: an upload that hangs (the
		// store's host cut off) shows as behind while it hangs.
		f.lagging(time.UnixMilli(batch.events[0].Time))
		uctx, ucancel := context.WithTimeout(ctx, 30*time.Second)
		err := f.st.put(uctx, deltaKey(f.id, batch), batch.encode())
		ucancel()
		if err != nil {
			f.mu.Lock()
			f.problem = err.Error()
			f.mu.Unlock()
			logLine(map[string]any{"msg": "delta upload failed", "first": batch.first(), "last": batch.last(), "error": err.Error()})
			return
		}
		f.setStored(batch.last())
		batch = &deltaBatch{}
	}
	for {
		select {
		case <-ctx.Done():
			return stop{}, ctx.Err()
		case <-tick.C:
			flush()
			if batch.bytes > heldBackLimit {
				return stop{reason: "the store was away for too long: the events held back were given up"}, errGap
			}
		case resp, ok := <-wch:
			if !ok {
				flush()
				return stop{}, errors.New("the watch ended")
			}
			if resp.CompactRevision > 0 {
				flush()
				return stop{reason: "revisions up to " + itoa(resp.CompactRevision) + " were compacted before the store had them"}, errGap
			}
			if id := clusterID(resp.Header.ClusterId); resp.Header.ClusterId != 0 && id != f.id {
				flush()
				return stop{reason: "the cluster is another one now (cluster ID " + id + ", was " + f.id + "): it was restored or made anew"}, errGap
			}
			if err := resp.Err(); err != nil {
				flush()
				if len(batch.events) > 0 {
					// Held back: watch again from the store's position so nothing is skipped.
					batch = &deltaBatch{}
				}
				return stop{}, err
			}
			seen := time.Now()
			for _, ev := range resp.Events {
				batch.add(ev, seen)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
