package main

// The object store off the host (spec `backup.store`): full snapshots and the delta stream between them,
// under one prefix that belongs to one cluster.
//
//	<prefix>/owner.json                                          {"cluster": "<name>"}: whose prefix this is
//	<prefix>/<cluster ID>/full/<revision>-<taken unix ms>.db     a full snapshot, as etcd streams it
//	<prefix>/<cluster ID>/delta/<first>-<last>-<t0 ms>-<t1 ms>-<delrev>-<deleted>.jsonl
//	                                                              the events of revisions first..last, one JSON
//	                                                              line each; delrev/deleted: the revision of
//	                                                              the object that deleted the most keys
//
// The cluster ID (16 hex digits, etcd's) separates lineages: a restored cluster, or a new empty one under
// the same name, is another etcd cluster whose revisions say nothing about the old one's, so its
// snapshots and deltas start a history of their own; a point in time is taken within one lineage.
// Revisions are written as 20 digits so that names sort by revision. Every object carries its SHA-256 in
// the metadata `sha256`; a reader computes it again and refuses an object whose bytes differ. What an
// object is (its revisions, times, largest deletion) is in its name, so that a listing is one request.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

var (
	fullName  = regexp.MustCompile(`^([0-9a-f]{16})/full/(\d{20})-(\d+)\.db$`)
	deltaName = regexp.MustCompile(`^([0-9a-f]{16})/delta/(\d{20})-(\d{20})-(\d+)-(\d+)-(\d+)-(\d+)\.jsonl$`)
)

// storeOptions are the flags every command that reaches the store shares.
type storeOptions struct {
	endpoint, bucket, prefix, region, ca, credentials, cluster string
	pathStyle                                                  bool
}

func (o *storeOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.endpoint, "store-endpoint", "", "the object store's URL (http:// or https://)")
	fs.StringVar(&o.bucket, "store-bucket", "", "its bucket")
	fs.StringVar(&o.prefix, "store-prefix", "", "the prefix of this cluster's objects")
	fs.StringVar(&o.region, "store-region", "us-east-1", "its region")
	fs.BoolVar(&o.pathStyle, "store-path-style", true, "address the bucket in the path, not the host name")
	fs.StringVar(&o.ca, "store-ca", "", "a CA certificate for an https endpoint")
	fs.StringVar(&o.credentials, "store-credentials", "", "a file of AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines")
	fs.StringVar(&o.cluster, "cluster", "", "the cluster whose prefix this is")
}

func (o *storeOptions) set() bool { return o.endpoint != "" }

type store struct {
	c              *minio.Client
	bucket, prefix string
	endpoint       string
}

// lineage is one etcd cluster's history in the store.
type lineage struct {
	ID     string        `json:"clusterId"`
	Full   []fullObject  `json:"full"`
	Delta  []deltaObject `json:"delta"`
	Newest int64         `json:"newest"`
	// Latest is the time of its newest object.
	Latest string `json:"latest"`
	latest time.Time
}

type fullObject struct {
	Name     string `json:"name"`
	Revision int64  `json:"revision"`
	Taken    string `json:"taken"`
	Bytes    int64  `json:"bytes"`
	taken    time.Time
}

type deltaObject struct {
	Name     string `json:"name"`
	First    int64  `json:"first"`
	Last     int64  `json:"last"`
	From     string `json:"from"`
	To       string `json:"to"`
	Bytes    int64  `json:"bytes"`
	DelRev   int64  `json:"largestDeletionRevision,omitempty"`
	DelCount int64  `json:"largestDeletionKeys,omitempty"`
	from, to time.Time
}

// readCredentials reads the credentials file: KEY=VALUE lines, # comments; the keys of AWS's environment.
func readCredentials(path string) (string, string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("store credentials: %w", err)
	}
	values := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return "", "", fmt.Errorf("store credentials %s: a line is not KEY=VALUE", path)
		}
		values[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	id, secret := values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]
	if id == "" || secret == "" {
		return "", "", fmt.Errorf("store credentials %s: needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", path)
	}
	return id, secret, nil
}

func openStore(o storeOptions) (*store, error) {
	if o.bucket == "" || o.prefix == "" || o.credentials == "" {
		return nil, errors.New("the store needs --store-bucket, --store-prefix and --store-credentials")
	}
	u, err := url.Parse(o.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("store endpoint %q: must be http://host:port or https://host:port", o.endpoint)
	}
	id, secret, err := readCredentials(o.credentials)
	if err != nil {
		return nil, err
	}
	opts := &minio.Options{Creds: credentials.NewStaticV4(id, secret, ""), Secure: u.Scheme == "https", Region: o.region}
	if o.pathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("store CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store CA %s: no certificate", o.ca)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		opts.Transport = t
	}
	c, err := minio.New(u.Host, opts)
	if err != nil {
		return nil, err
	}
	return &store{c: c, bucket: o.bucket, prefix: strings.Trim(o.prefix, "/"), endpoint: o.endpoint}, nil
}

func (s *store) key(name string) string { return s.prefix + "/" + name }

// describe turns the store's answer into one line that says what to check.
func (s *store) describe(err error) error {
	var r minio.ErrorResponse
	if errors.As(err, &r) {
		switch r.Code {
		case "NoSuchBucket":
			return fmt.Errorf("store %s: bucket %q does not exist", s.endpoint, s.bucket)
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied":
			return fmt.Errorf("store %s: the credentials are refused (%s)", s.endpoint, r.Code)
		}
		if r.Code != "" {
			return fmt.Errorf("store %s: %s: %s", s.endpoint, r.Code, r.Message)
		}
	}
	return fmt.Errorf("store %s: %v", s.endpoint, err)
}

// claim makes the prefix this cluster's, or refuses a prefix that another cluster's backups use.
func (s *store) claim(ctx context.Context, cluster string) error {
	if cluster == "" {
		return errors.New("the store needs --cluster")
	}
	body, err := s.get(ctx, "owner.json")
	if err == nil {
		var owner struct{ Cluster string }
		if json.Unmarshal(body, &owner) != nil || owner.Cluster != cluster {
			return &claimRefused{fmt.Sprintf("store %s: prefix %q holds the backups of cluster %q, not %q; give this cluster a prefix of its own (backup.store.prefix)", s.endpoint, s.prefix, owner.Cluster, cluster)}
		}
		return nil
	}
	var r minio.ErrorResponse
	if !errors.As(err, &r) || r.Code != "NoSuchKey" {
		return s.describe(err)
	}
	owner, _ := json.Marshal(map[string]string{"cluster": cluster})
	return s.put(ctx, "owner.json", owner)
}

// checkOwner refuses a prefix that another cluster's backups use (for reading: one that has no owner yet is
// fine, it holds nothing).
func (s *store) checkOwner(ctx context.Context, cluster string) error {
	if cluster == "" {
		return nil
	}
	body, err := s.get(ctx, "owner.json")
	if err != nil {
		var r minio.ErrorResponse
		if errors.As(err, &r) && r.Code == "NoSuchKey" {
			return nil
		}
		if errors.As(err, &r) {
			return s.describe(err)
		}
		return err
	}
	var owner struct{ Cluster string }
	if json.Unmarshal(body, &owner) != nil || owner.Cluster != cluster {
		return fmt.Errorf("store %s: prefix %q holds the backups of cluster %q, not %q", s.endpoint, s.prefix, owner.Cluster, cluster)
	}
	return nil
}

// claimRefused is a prefix that belongs to another cluster: not retried.
type claimRefused struct{ msg string }

func (c *claimRefused) Error() string { return c.msg }

func (s *store) put(ctx context.Context, name string, body []byte) error {
	sum := sha256.Sum256(body)
	_, err := s.c.PutObject(ctx, s.bucket, s.key(name), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		UserMetadata: map[string]string{"sha256": hex.EncodeToString(sum[:])},
		ContentType:  "application/octet-stream",
	})
	if err != nil {
		return s.describe(err)
	}
	return nil
}

// putFile uploads a file with its SHA-256, computed from the file before it goes.
func (s *store) putFile(ctx context.Context, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = s.c.PutObject(ctx, s.bucket, s.key(name), f, n, minio.PutObjectOptions{
		UserMetadata: map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))},
		ContentType:  "application/octet-stream",
	})
	if err != nil {
		return s.describe(err)
	}
	return nil
}

// get reads a whole object and checks it against the SHA-256 it was stored with.
func (s *store) get(ctx context.Context, name string) ([]byte, error) {
	o, err := s.c.GetObject(ctx, s.bucket, s.key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	body, err := io.ReadAll(o)
	if err != nil {
		return nil, err
	}
	info, err := o.Stat()
	if err != nil {
		return nil, err
	}
	want := info.UserMetadata["Sha256"]
	if want == "" {
		want = info.Metadata.Get("X-Amz-Meta-Sha256")
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); want == "" || got != want {
		return nil, fmt.Errorf("object %s: checksum mismatch (stored %s, read %s)", s.key(name), orNone(want), got)
	}
	return body, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// inventory lists the store's lineages, the one with the newest object last; in each, the full snapshots and
// the deltas sorted by revision.
func (s *store) inventory(ctx context.Context) ([]*lineage, error) {
	byID := map[string]*lineage{}
	of := func(id string) *lineage {
		if byID[id] == nil {
			byID[id] = &lineage{ID: id}
		}
		return byID[id]
	}
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "/", Recursive: true}) {
		if o.Err != nil {
			return nil, s.describe(o.Err)
		}
		name := strings.TrimPrefix(o.Key, s.prefix+"/")
		if m := fullName.FindStringSubmatch(name); m != nil {
			rev, _ := strconv.ParseInt(m[2], 10, 64)
			ms, _ := strconv.ParseInt(m[3], 10, 64)
			t := time.UnixMilli(ms).UTC()
			l := of(m[1])
			l.Full = append(l.Full, fullObject{Name: name, Revision: rev, Taken: t.Format(time.RFC3339), Bytes: o.Size, taken: t})
		} else if m := deltaName.FindStringSubmatch(name); m != nil {
			n := make([]int64, 6)
			for i := range n {
				n[i], _ = strconv.ParseInt(m[i+2], 10, 64)
			}
			from, to := time.UnixMilli(n[2]).UTC(), time.UnixMilli(n[3]).UTC()
			l := of(m[1])
			l.Delta = append(l.Delta, deltaObject{Name: name, First: n[0], Last: n[1], From: from.Format(time.RFC3339Nano), To: to.Format(time.RFC3339Nano),
				Bytes: o.Size, DelRev: n[4], DelCount: n[5], from: from, to: to})
		}
	}
	var out []*lineage
	for _, l := range byID {
		sort.Slice(l.Full, func(i, j int) bool { return l.Full[i].Revision < l.Full[j].Revision })
		sort.Slice(l.Delta, func(i, j int) bool { return l.Delta[i].First < l.Delta[j].First })
		l.Newest = newest(l.Full, l.Delta)
		for _, f := range l.Full {
			if f.taken.After(l.latest) {
				l.latest = f.taken
			}
		}
		for _, d := range l.Delta {
			if d.to.After(l.latest) {
				l.latest = d.to
			}
		}
		l.Latest = l.latest.Format(time.RFC3339Nano)
		l.Full, l.Delta = orEmpty(l.Full), orEmpty(l.Delta)
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].latest.Before(out[j].latest) })
	return out, nil
}

// find is the lineage of a cluster ID, or an empty one.
func find(all []*lineage, id string) *lineage {
	for _, l := range all {
		if l.ID == id {
			return l
		}
	}
	return &lineage{ID: id}
}

func clusterID(id uint64) string { return fmt.Sprintf("%016x", id) }

func fullKey(id string, rev int64, taken time.Time) string {
	return fmt.Sprintf("%s/full/%020d-%d.db", id, rev, taken.UnixMilli())
}

func deltaKey(id string, d *deltaBatch) string {
	return fmt.Sprintf("%s/delta/%020d-%020d-%d-%d-%d-%d.jsonl", id, d.first(), d.last(), d.events[0].Time, d.events[len(d.events)-1].Time, d.delRev, d.delCount)
}

// newest is the newest revision the store holds: the last delta's or the newest full snapshot's.
func newest(fulls []fullObject, deltas []deltaObject) int64 {
	var n int64
	if len(fulls) > 0 {
		n = fulls[len(fulls)-1].Revision
	}
	for _, d := range deltas {
		if d.Last > n {
			n = d.Last
		}
	}
	return n
}

// retain removes all but the newest keep full snapshots of the lineage of id and the deltas that only older
// ones needed (retired); the newest full snapshot, and any delta past the oldest kept one, stay. The
// history of an earlier cluster stays until removed by hand.
func (s *store) retain(ctx context.Context, id string, keep int) []string {
	all, err := s.inventory(ctx)
	if err != nil {
		return nil
	}
	var removed []string
	for _, name := range retired(find(all, id), keep) {
		if s.c.RemoveObject(ctx, s.bucket, s.key(name), minio.RemoveObjectOptions{}) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

// retired is what retention removes from a lineage: its full snapshots but the newest keep, and the deltas
// that end at or before the oldest kept one (a point after it never needs them).
func retired(l *lineage, keep int) []string {
	if keep < 1 || len(l.Full) <= keep {
		return nil
	}
	oldestKept := l.Full[len(l.Full)-keep].Revision
	var out []string
	for _, f := range l.Full[:len(l.Full)-keep] {
		out = append(out, f.Name)
	}
	for _, d := range l.Delta {
		if d.Last <= oldestKept {
			out = append(out, d.Name)
		}
	}
	return out
}
