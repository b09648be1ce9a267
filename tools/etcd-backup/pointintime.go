package main

// A point in time from the store: the newest full snapshot at or before it, then the deltas up to it,
// written into the snapshot's own database the way etcd keeps its history (the "key" bucket: a revision
// of 8 bytes, '_', a sub-revision of 8 bytes, and 't' after a deletion's; the value is the key's
// mvccpb.KeyValue). The result is a snapshot file like etcd's (the database and its SHA-256) that
// `etcdutl snapshot restore` takes, with the revisions the cluster had. Leases do not travel in the watch
// stream: a key written in a delta is restored without its lease.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// target is a chosen point: a revision, a time, or (both zero) the newest.
type target struct {
	revision int64
	time     time.Time
}

func (t target) reached(e event) bool {
	if t.revision > 0 {
		return e.Rev > t.revision
	}
	if !t.time.IsZero() {
		return e.Time > t.time.UnixMilli()
	}
	return false
}

// plan picks the full snapshot and the deltas a point needs, or says in one line why there is none.
func plan(fulls []fullObject, deltas []deltaObject, t target, now time.Time) (fullObject, []deltaObject, error) {
	if len(fulls) == 0 {
		return fullObject{}, nil, errors.New("the store holds no full snapshot of this cluster yet")
	}
	top := newest(fulls, deltas)
	switch {
	case t.revision > top:
		return fullObject{}, nil, fmt.Errorf("revision %d is past the newest backed-up revision (%d)", t.revision, top)
	case t.revision > 0 && t.revision < fulls[0].Revision:
		return fullObject{}, nil, fmt.Errorf("revision %d is before the oldest full snapshot (revision %d)", t.revision, fulls[0].Revision)
	case !t.time.IsZero() && t.time.After(now):
		return fullObject{}, nil, fmt.Errorf("time %s is in the future", t.time.UTC().Format(time.RFC3339))
	case !t.time.IsZero() && t.time.Before(fulls[0].taken):
		return fullObject{}, nil, fmt.Errorf("time %s is before the oldest full snapshot (%s)", t.time.UTC().Format(time.RFC3339), fulls[0].Taken)
	}
	base := fulls[0]
	for _, f := range fulls {
		if (t.revision > 0 && f.Revision > t.revision) || (!t.time.IsZero() && f.taken.After(t.time)) {
			break
		}
		base = f
	}
	// The deltas from the base on, continuous, until the point (or the newest).
	var chain []deltaObject
	pos := base.Revision
	for _, d := range deltas {
		if d.Last <= pos {
			continue
		}
		if (t.revision > 0 && pos >= t.revision) || (!t.time.IsZero() && d.from.After(t.time)) {
			break
		}
		if d.First > pos+1 {
			return fullObject{}, nil, fmt.Errorf("the deltas have a gap: revisions %d to %d are missing (before %s)", pos+1, d.First-1, d.Name)
		}
		chain = append(chain, d)
		pos = d.Last
	}
	if t.revision > pos {
		return fullObject{}, nil, fmt.Errorf("the deltas have a gap: revisions %d to %d are missing (after revision %d)", pos+1, t.revision, pos)
	}
	return base, chain, nil
}

// fetched is what pointInTime wrote.
type fetched struct {
	File        string `json:"file"`
	ClusterID   string `json:"clusterId"`
	Revision    int64  `json:"revision"`
	Full        string `json:"full"`
	Deltas      int    `json:"deltas"`
	DeltaEvents int    `json:"deltaEvents"`
}

// pointInTime writes the snapshot of point t of a lineage (by default the one with the newest object) to out.
func pointInTime(ctx context.Context, st *store, id string, t target, out string) (*fetched, error) {
	all, err := st.inventory(ctx)
	if err != nil {
		return nil, err
	}
	var l *lineage
	switch {
	case id != "":
		l = find(all, id)
		if len(l.Full) == 0 && len(l.Delta) == 0 {
			return nil, fmt.Errorf("the store holds nothing of cluster ID %s under %s", id, st.prefix)
		}
	case len(all) > 0:
		l = all[len(all)-1]
	default:
		l = &lineage{}
	}
	r, err := l.pointInTime(ctx, st, t, out)
	if err != nil {
		return nil, err
	}
	r.ClusterID = l.ID
	return r, nil
}

func (l *lineage) pointInTime(ctx context.Context, st *store, t target, out string) (*fetched, error) {
	base, chain, err := plan(l.Full, l.Delta, t, time.Now())
	if err != nil {
		return nil, err
	}
	body, err := st.get(ctx, base.Name)
	if err != nil {
		return nil, err
	}
	if len(body) < sha256.Size {
		return nil, fmt.Errorf("object %s: too short to be a snapshot", st.key(base.Name))
	}
	db, hash := body[:len(body)-sha256.Size], body[len(body)-sha256.Size:]
	if sum := sha256.Sum256(db); !bytes.Equal(sum[:], hash) {
		return nil, fmt.Errorf("object %s: etcd's own hash of the snapshot does not match", st.key(base.Name))
	}
	tmp := out + ".part"
	if err := os.WriteFile(tmp, db, 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	rev := base.Revision
	applied := 0
	if len(chain) > 0 {
		var events []event
	deltas:
		for _, d := range chain {
			raw, err := st.get(ctx, d.Name)
			if err != nil {
				return nil, err
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			for {
				var e event
				if err := dec.Decode(&e); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					return nil, fmt.Errorf("object %s: not a delta: %v", st.key(d.Name), err)
				}
				if e.Rev <= base.Revision {
					continue
				}
				if t.reached(e) {
					break deltas
				}
				if e.Rev > rev+1 {
					return nil, fmt.Errorf("object %s: revisions %d to %d are missing", st.key(d.Name), rev+1, e.Rev-1)
				}
				events = append(events, e)
				rev = e.Rev
			}
		}
		if err := applyEvents(tmp, events); err != nil {
			return nil, err
		}
		applied = len(events)
	}
	if err := sealSnapshot(tmp, out); err != nil {
		return nil, err
	}
	return &fetched{File: out, Revision: rev, Full: st.key(base.Name), Deltas: len(chain), DeltaEvents: applied}, nil
}

// applyEvents writes the events into the database's history.
func applyEvents(path string, events []event) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("key"))
		if b == nil {
			return errors.New("the snapshot has no key bucket")
		}
		for _, e := range events {
			k := make([]byte, 17, 18)
			binary.BigEndian.PutUint64(k, uint64(e.Rev))
			k[8] = '_'
			binary.BigEndian.PutUint64(k[9:], uint64(e.Sub))
			kv := mvccpb.KeyValue{Key: e.Key}
			if e.Delete {
				k = append(k, 't')
			} else {
				kv = mvccpb.KeyValue{Key: e.Key, Value: e.Value, CreateRevision: e.Create, ModRevision: e.Rev, Version: e.Version}
			}
			v, err := kv.Marshal()
			if err != nil {
				return err
			}
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// sealSnapshot writes the database with its SHA-256 appended, as etcd's snapshot stream ends.
func sealSnapshot(path, out string) error {
	db, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(db)
	part := out + ".sealing"
	if err := os.WriteFile(part, append(db, sum[:]...), 0o644); err != nil {
		return err
	}
	return os.Rename(part, out)
}
