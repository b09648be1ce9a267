// etcd-backup takes snapshots of an etcd cluster on a schedule into a directory, keeping the newest few.
// It is the backup container of cdktf-etcd-cluster (spec `backup`), and lists what it has taken for
// `etcd-cluster backups`. With --defrag-every it is also the cluster's scheduled defragmenter (spec
// `defrag`, defrag.go), and keeps a journal of its runs for `etcd-cluster maintenance log`.
//
//	etcd-backup run  --endpoints=http://demo-primaries:2379 --dir=/backups --every=1h --keep=24 [--cacert= --cert= --key=]
//	                 [--defrag-every=5m --quota-bytes=2147483648 --defrag-quota-percent=80 --defrag-reclaimable-bytes=209715200]
//	etcd-backup list --dir=/backups
//	etcd-backup log  --dir=/backups
//	etcd-backup store-list --store-...            what the store holds (store.go), JSON
//	etcd-backup position --dir=/backups          the newest revision the container stored, when, and
//	                                               since when it is behind (JSON; {} before its first report)
//	etcd-backup fetch --store-... --out=FILE [--revision=N | --time=RFC3339]
//	                                               a point in time from the store as a snapshot file (pointintime.go)
//
// With --store-endpoint (spec `backup.store`) every full snapshot also goes to an S3-compatible object
// store, and between them the watch stream's events (delta.go).
//
// Snapshots and defragmentation take turns in one loop: a member is never defragmented (which blocks it)
// while a snapshot streams from it.
//
// A snapshot is written to a temporary file, synced, then renamed to snapshot-<UTC time>-rev<revision>.db,
// so that a listing never shows half a snapshot. The file is what etcd streams (the database and its
// SHA-256), the same as `etcdctl snapshot save` writes.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var snapshotName = regexp.MustCompile(`^snapshot-(\d{8}T\d{6}Z)-rev(\d+)\.db$`)

type snapshot struct {
	File     string `json:"file"`
	Bytes    int64  `json:"bytes"`
	Taken    string `json:"taken"`
	Revision int64  `json:"revision"`
	// cluster is the etcd cluster ID of the member it came from (not listed).
	cluster uint64
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: etcd-backup run|list [flags]")
	}
	switch os.Args[1] {
	case "run":
		run(os.Args[2:])
	case "list":
		list(os.Args[2:])
	case "log":
		printLog(os.Args[2:])
	case "store-list":
		storeList(os.Args[2:])
	case "fetch":
		fetch(os.Args[2:])
	case "position":
		position(os.Args[2:])
	default:
		fail("unknown command " + strconv.Quote(os.Args[1]) + " (run, list, log, store-list, fetch, position)")
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "etcd-backup: "+msg)
	os.Exit(2)
}

func logLine(fields map[string]any) {
	fields["time"] = time.Now().UTC().Format(time.RFC3339)
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

func run(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	endpoints := fs.String("endpoints", "", "comma-separated client URLs of the cluster")
	dir := fs.String("dir", "/backups", "where snapshots go")
	every := fs.Duration("every", time.Hour, "time between snapshots")
	keep := fs.Int("keep", 24, "how many snapshots to keep")
	cacert := fs.String("cacert", "", "CA certificate (TLS)")
	cert := fs.String("cert", "", "client certificate (TLS)")
	key := fs.String("key", "", "client key (TLS)")
	defragEvery := fs.Duration("defrag-every", 0, "time between the defragmenter's checks (0: no defragmenter)")
	quota := fs.Int64("quota-bytes", 0, "the members' --quota-backend-bytes")
	quotaPercent := fs.Int64("defrag-quota-percent", 80, "defragment a member whose database exceeds this percentage of the quota")
	reclaimable := fs.Int64("defrag-reclaimable-bytes", 200<<20, "defragment a member from which at least this much can be reclaimed")
	deltaEvery := fs.Duration("delta-every", time.Second, "with a store: how often the events seen since the last upload go to it")
	var so storeOptions
	so.register(fs)
	_ = fs.Parse(args)
	if *endpoints == "" || *every <= 0 || *keep < 1 {
		fail("run needs --endpoints, a positive --every and --keep of 1 or more")
	}
	if *defragEvery < 0 || (*defragEvery > 0 && (*quota <= 0 || *quotaPercent < 1 || *quotaPercent > 100 || *reclaimable < 1)) {
		fail("--defrag-every needs --quota-bytes, --defrag-quota-percent from 1 to 100 and a positive --defrag-reclaimable-bytes")
	}
	cfg := clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second}
	if *cacert != "" {
		tlsCfg, err := tlsConfig(*cacert, *cert, *key)
		if err != nil {
			fail(err.Error())
		}
		cfg.TLS = tlsCfg
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fail(err.Error())
	}
	r := rule{QuotaBytes: *quota, QuotaPercent: *quotaPercent, ReclaimableBytes: *reclaimable}
	started := map[string]any{"msg": "started", "every": every.String(), "keep": *keep, "dir": *dir}
	if *defragEvery > 0 {
		started["defrag"] = map[string]any{"every": defragEvery.String(), "quotaBytes": r.QuotaBytes, "quotaPercent": r.QuotaPercent, "reclaimableBytes": r.ReclaimableBytes}
	}
	var st *store
	if so.set() {
		var err error
		if st, err = openStore(so); err != nil {
			fail(err.Error())
		}
		if *deltaEvery <= 0 {
			fail("--delta-every must be positive")
		}
		started["store"] = map[string]any{"endpoint": so.endpoint, "bucket": so.bucket, "prefix": st.prefix, "deltaEvery": deltaEvery.String()}
	}
	logLine(started)
	jr := newJournal(*dir)
	var d *defragmenter
	var busy sync.Mutex
	var claimed atomic.Bool
	// full takes a snapshot into the directory and, with a store, uploads it to its cluster's lineage; the
	// caller holds busy.
	full := func() (*snapshot, error) {
		s, err := take(cfg, *dir)
		if err != nil {
			logLine(map[string]any{"msg": "snapshot failed", "error": err.Error()})
			return nil, err
		}
		logLine(map[string]any{"msg": "snapshot taken", "file": s.File, "bytes": s.Bytes, "revision": s.Revision})
		for _, old := range prune(*dir, *keep) {
			logLine(map[string]any{"msg": "snapshot removed", "file": old})
		}
		if st == nil || !claimed.Load() {
			return s, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		id := clusterID(s.cluster)
		name := fullKey(id, s.Revision, time.Now())
		if err := st.putFile(ctx, name, filepath.Join(*dir, s.File)); err != nil {
			logLine(map[string]any{"msg": "full snapshot upload failed", "revision": s.Revision, "error": err.Error()})
			return nil, err
		}
		logLine(map[string]any{"msg": "full snapshot stored", "object": st.key(name), "revision": s.Revision})
		for _, old := range st.retain(ctx, id, *keep) {
			logLine(map[string]any{"msg": "store object removed", "object": st.key(old)})
		}
		return s, nil
	}
	if st != nil {
		f := &follower{cfg: cfg, st: st, every: *deltaEvery, full: full, busy: &busy, statusFile: filepath.Join(*dir, storeStatusFile)}
		go f.start(context.Background(), so.cluster, &claimed)
	}
	nextSnapshot, nextCheck := time.Now(), time.Now()
	for {
		if !time.Now().Before(nextSnapshot) {
			busy.Lock()
			_, _ = full()
			busy.Unlock()
			nextSnapshot = time.Now().Add(*every)
		}
		if *defragEvery > 0 && !time.Now().Before(nextCheck) {
			busy.Lock()
			d = checkOnce(cfg, r, d, jr)
			busy.Unlock()
			nextCheck = time.Now().Add(*defragEvery)
		}
		next := nextSnapshot
		if *defragEvery > 0 && nextCheck.Before(next) {
			next = nextCheck
		}
		time.Sleep(time.Until(next))
	}
}

// checkOnce runs one check of the defragmenter with a client of its own (closed afterwards, so that a
// changed address behind the shared name is found again next time); the defragmenter's memory carries over.
func checkOnce(cfg clientv3.Config, r rule, d *defragmenter, jr journal) *defragmenter {
	cli, err := clientv3.New(cfg)
	if err != nil {
		logLine(map[string]any{"msg": "defrag check failed", "error": err.Error()})
		return d
	}
	defer cli.Close()
	if d == nil {
		d = newDefragmenter(nil, r)
		d.say = logLine
	}
	d.api = clusterAPI{cli: cli}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, e := range d.check(ctx) {
		logLine(map[string]any{"msg": e.Run + " run", "run": e})
		if err := jr.add(e); err != nil {
			logLine(map[string]any{"msg": "journal write failed", "error": err.Error()})
		}
	}
	return d
}

func tlsConfig(cacert, cert, key string) (*tls.Config, error) {
	pem, err := os.ReadFile(cacert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New(cacert + ": no certificate")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func take(cfg clientv3.Config, dir string) (*snapshot, error) {
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The cluster it belongs to: a snapshot goes to its own cluster's lineage in the store.
	ml, err := cli.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	stream, err := cli.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	tmp, err := os.CreateTemp(dir, ".snapshot-*.part")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, stream)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	rev, err := revisionOf(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("the snapshot is not readable: %w", err)
	}
	taken := time.Now().UTC()
	name := fmt.Sprintf("snapshot-%s-rev%d.db", taken.Format("20060102T150405Z"), rev)
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return nil, err
	}
	return &snapshot{File: name, Bytes: n, Taken: taken.Format(time.RFC3339), Revision: rev, cluster: ml.Header.ClusterId}, nil
}

// revisionOf reads a snapshot's revision: the main revision of the last key in etcd's "key" bucket, as
// etcdutl snapshot status reports it, or the compaction's when that is later (a compaction removes the
// tombstones at its end), and at least 1, where every etcd cluster starts.
func revisionOf(path string) (int64, error) {
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rev := int64(1)
	main := func(k []byte) int64 {
		var n int64
		for _, c := range k[:8] {
			n = n<<8 | int64(c)
		}
		return n
	}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("key"))
		if b == nil {
			return errors.New("no key bucket")
		}
		if k, _ := b.Cursor().Last(); len(k) >= 8 && main(k) > rev {
			rev = main(k)
		}
		if m := tx.Bucket([]byte("meta")); m != nil {
			if v := m.Get([]byte("finishedCompactRev")); len(v) >= 8 && main(v) > rev {
				rev = main(v)
			}
		}
		return nil
	})
	return rev, err
}

// snapshots lists the complete snapshots in dir, oldest first.
func snapshots(dir string) ([]snapshot, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []snapshot
	for _, e := range entries {
		m := snapshotName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		taken, _ := time.Parse("20060102T150405Z", m[1])
		rev, _ := strconv.ParseInt(m[2], 10, 64)
		out = append(out, snapshot{File: e.Name(), Bytes: info.Size(), Taken: taken.Format(time.RFC3339), Revision: rev})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

// prune removes all but the newest keep snapshots and returns what it removed.
func prune(dir string, keep int) []string {
	all, err := snapshots(dir)
	if err != nil || len(all) <= keep {
		return nil
	}
	var removed []string
	for _, s := range all[:len(all)-keep] {
		if os.Remove(filepath.Join(dir, s.File)) == nil {
			removed = append(removed, s.File)
		}
	}
	return removed
}

func list(args []string) {
	fs := flag.NewFlagSet("list", flag.ExitOnError)
	dir := fs.String("dir", "/backups", "where snapshots are")
	_ = fs.Parse(args)
	all, err := snapshots(*dir)
	if err != nil {
		fail(err.Error())
	}
	if all == nil {
		all = []snapshot{}
	}
	out, _ := json.Marshal(all)
	fmt.Println(string(out))
}

// printLog prints the defragmenter's journal as one JSON array, oldest run first.
func printLog(args []string) {
	fs := flag.NewFlagSet("log", flag.ExitOnError)
	dir := fs.String("dir", "/backups", "where the journal is")
	_ = fs.Parse(args)
	all, err := newJournal(*dir).read()
	if err != nil {
		fail(err.Error())
	}
	out, _ := json.Marshal(all)
	fmt.Println(string(out))
}

// storeList prints what the store holds for the cluster: full snapshots, deltas, the newest revision, and
// (when the container's directory is at hand) the follower's own position.
func storeList(args []string) {
	fs := flag.NewFlagSet("store-list", flag.ExitOnError)
	var so storeOptions
	so.register(fs)
	dir := fs.String("dir", "", "the backup container's directory, for its position")
	_ = fs.Parse(args)
	st, err := openStore(so)
	if err != nil {
		fail(err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.checkOwner(ctx, so.cluster); err != nil {
		fail(err.Error())
	}
	all, err := st.inventory(ctx)
	if err != nil {
		fail(err.Error())
	}
	out := map[string]any{"prefix": st.prefix, "lineages": orEmpty(all)}
	if *dir != "" {
		if body, err := os.ReadFile(filepath.Join(*dir, storeStatusFile)); err == nil {
			var status storeStatus
			if json.Unmarshal(body, &status) == nil {
				out["status"] = status
			}
		}
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// fetch writes a point in time from the store as a snapshot file.
func fetch(args []string) {
	fs := flag.NewFlagSet("fetch", flag.ExitOnError)
	var so storeOptions
	so.register(fs)
	out := fs.String("out", "", "the snapshot file to write")
	revision := fs.Int64("revision", 0, "the revision to restore to (default: the newest)")
	at := fs.String("time", "", "the time to restore to, RFC 3339 (default: the newest)")
	id := fs.String("cluster-id", "", "the lineage (etcd cluster ID, 16 hex digits) to restore from (default: the one with the newest object)")
	_ = fs.Parse(args)
	if *out == "" {
		fail("fetch needs --out")
	}
	var t target
	if *revision < 0 {
		fail("--revision must be positive")
	}
	t.revision = *revision
	if *at != "" {
		if *revision > 0 {
			fail("give --revision or --time, not both")
		}
		parsed, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			fail(fmt.Sprintf("--time %q: must be RFC 3339, e.g. 2026-12-07T10:00:00Z", *at))
		}
		t.time = parsed
	}
	st, err := openStore(so)
	if err != nil {
		fail(err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := st.checkOwner(ctx, so.cluster); err != nil {
		fail(err.Error())
	}
	r, err := pointInTime(ctx, st, *id, t, *out)
	if err != nil {
		fail(err.Error())
	}
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

// position prints the follower's last report (store-status.json), or {} when there is none yet.
func position(args []string) {
	fs := flag.NewFlagSet("position", flag.ExitOnError)
	dir := fs.String("dir", "/backups", "the backup container's directory")
	_ = fs.Parse(args)
	body, err := os.ReadFile(filepath.Join(*dir, storeStatusFile))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("{}")
		return
	}
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(strings.TrimSpace(string(body)))
}
