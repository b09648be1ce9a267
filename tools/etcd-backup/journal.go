package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// journalFile holds the defragmenter's runs, one JSON line each, next to the snapshots (so that it
// outlives the container), and `etcd-backup log` prints them for `etcd-cluster maintenance log`.
const journalFile = "maintenance.log"

// journalKeep is how many runs the journal keeps; past twice that it is cut back to the newest.
const journalKeep = 500

type journal struct{ path string }

func newJournal(dir string) journal { return journal{path: filepath.Join(dir, journalFile)} }

// add appends one run; the journal is rewritten (to a temporary file, then renamed) when it has grown
// past twice what it keeps.
func (j journal) add(e runEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	all, err := j.read()
	if err != nil || len(all) <= 2*journalKeep {
		return err
	}
	return j.rewrite(all[len(all)-journalKeep:])
}

// read returns the runs, oldest first; none when there is no journal yet. A line that is not a run (a
// write cut short) is skipped.
func (j journal) read() ([]runEntry, error) {
	f, err := os.Open(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		return []runEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := []runEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e runEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Run != "" {
			if e.Steps == nil {
				e.Steps = []step{}
			}
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

func (j journal) rewrite(entries []runEntry) error {
	tmp, err := os.CreateTemp(filepath.Dir(j.path), ".maintenance-*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	for _, e := range entries {
		line, _ := json.Marshal(e)
		_, _ = w.Write(append(line, '\n'))
	}
	err = w.Flush()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), j.path)
}
