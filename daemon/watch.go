package daemon

import (
	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// WatchTokens streams a snapshot of the requested servers, then every
// refresh, state change and removal. A reader that falls behind the bounded buffer
// gets RESYNC and a fresh snapshot instead of the events it missed, so it
// never holds up the scheduler or other readers.
func (s *service) WatchTokens(req *xaadv1.WatchTokensRequest, stream xaadv1.XaadService_WatchTokensServer) error {
	want := map[string]bool{}
	for _, r := range req.GetResources() {
		if _, err := broker.CheckURL(r); err != nil {
			return invalidArgument("resources: " + err.Error())
		}
		want[r] = true
	}
	// Subscribe before the snapshot so nothing between the two is lost.
	sub := s.b.Subscribe(req.GetResources())
	defer sub.Close()
	if err := s.sendSnapshot(stream, want, req.GetIncludeTokens(), xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case ev := <-sub.C:
			if sub.Overflowed() {
				for len(sub.C) > 0 {
					<-sub.C
				}
				if err := s.sendSnapshot(stream, want, req.GetIncludeTokens(), xaadv1.WatchEventKind_WATCH_EVENT_KIND_RESYNC); err != nil {
					return err
				}
				continue
			}
			if err := stream.Send(eventProto(ev, req.GetIncludeTokens())); err != nil {
				return err
			}
		}
	}
}

// sendSnapshot sends one message per server (kind SNAPSHOT, or RESYNC for
// a reader that fell behind), then SNAPSHOT_END.
func (s *service) sendSnapshot(stream xaadv1.XaadService_WatchTokensServer, want map[string]bool, tokens bool, kind xaadv1.WatchEventKind) error {
	for _, si := range s.b.Servers() {
		if len(want) > 0 && !want[si.URL] {
			continue
		}
		msg := &xaadv1.WatchTokensResponse{Kind: kind, Server: serverProto(si)}
		if tokens {
			if t := s.b.CachedToken(si.URL); t != nil {
				msg.Token = tokenProto(t)
			}
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return stream.Send(&xaadv1.WatchTokensResponse{Kind: xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END})
}

func eventProto(ev broker.Event, tokens bool) *xaadv1.WatchTokensResponse {
	msg := &xaadv1.WatchTokensResponse{Kind: xaadv1.WatchEventKind_WATCH_EVENT_KIND_STATE_CHANGED, Server: serverProto(ev.Server)}
	switch ev.Kind {
	case broker.EventRefreshed:
		msg.Kind = xaadv1.WatchEventKind_WATCH_EVENT_KIND_REFRESHED
		if tokens && ev.Token != nil {
			msg.Token = tokenProto(ev.Token)
		}
	case broker.EventRemoved:
		msg.Kind = xaadv1.WatchEventKind_WATCH_EVENT_KIND_REMOVED
	}
	return msg
}
