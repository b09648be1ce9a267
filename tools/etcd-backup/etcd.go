package main

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// clusterAPI is etcdAPI on a real cluster: the member list, compaction and the alarms through the
// client's endpoints (the primaries' shared name), status and defragmentation at each member's own client
// URL, as `etcdctl --endpoints=<member> defrag` does.
type clusterAPI struct{ cli *clientv3.Client }

func (c clusterAPI) Members(ctx context.Context) ([]memberInfo, error) {
	r, err := c.cli.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]memberInfo, 0, len(r.Members))
	for _, m := range r.Members {
		info := memberInfo{ID: m.ID, Name: m.Name, Learner: m.IsLearner}
		if len(m.ClientURLs) > 0 {
			info.ClientURL = m.ClientURLs[0]
		}
		out = append(out, info)
	}
	return out, nil
}

func (c clusterAPI) Status(ctx context.Context, endpoint string) (memberStatus, error) {
	r, err := c.cli.Status(ctx, endpoint)
	if err != nil {
		return memberStatus{}, err
	}
	return memberStatus{
		Leader:      r.Leader,
		DBSize:      r.DbSize,
		InUse:       r.DbSizeInUse,
		RaftIndex:   r.RaftIndex,
		RaftApplied: r.RaftAppliedIndex,
		Revision:    r.Header.Revision,
	}, nil
}

func (c clusterAPI) Alarms(ctx context.Context) ([]alarmInfo, error) {
	r, err := c.cli.AlarmList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]alarmInfo, 0, len(r.Alarms))
	for _, a := range r.Alarms {
		out = append(out, alarmInfo{MemberID: a.MemberID, Alarm: a.Alarm.String()})
	}
	return out, nil
}

func (c clusterAPI) Compact(ctx context.Context, rev int64) error {
	_, err := c.cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
	if errors.Is(err, rpctypes.ErrCompacted) {
		return nil
	}
	return err
}

func (c clusterAPI) Defragment(ctx context.Context, endpoint string) error {
	_, err := c.cli.Defragment(ctx, endpoint)
	return err
}

func (c clusterAPI) Disarm(ctx context.Context, a alarmInfo) error {
	kind, ok := pb.AlarmType_value[a.Alarm]
	if !ok {
		return errors.New("unknown alarm " + a.Alarm)
	}
	_, err := c.cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: a.MemberID, Alarm: pb.AlarmType(kind)})
	return err
}
