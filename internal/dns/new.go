package dns

import (
	"context"
	"errors"
	"net"
	"testing"

	"postfach/internal/config"
)

// chainSource answers from the zone file first and asks the nameservers
// about what lies outside it, including the target of a CNAME in the
// file that points outside.
type chainSource struct {
	zone zoneSource
	ns   *nsSource
}

func (c chainSource) query(ctx context.Context, name string, qtype uint16) (result, error) {
	res, err := c.zone.query(ctx, name, qtype)
	var out *outsideError
	if !errors.As(err, &out) {
		return res, err
	}
	return c.ns.query(ctx, out.target, qtype)
}

func newResolver(cfg config.DNS, opts Options) (Resolver, error) {
	var zf *ZoneFile
	if cfg.ZoneFile != "" {
		var err error
		if zf, err = OpenZoneFile(cfg.ZoneFile, opts.Logger); err != nil {
			return nil, err
		}
	}
	var ns *nsSource
	if len(cfg.Nameservers) > 0 {
		var err error
		if ns, err = newNSSource(cfg.Nameservers, opts); err != nil {
			return nil, err
		}
	}
	switch {
	case zf != nil && ns != nil:
		return &resolver{src: chainSource{zone: zoneSource{zone: zf.Zone}, ns: ns}}, nil
	case zf != nil:
		return zf.Resolver(), nil
	case ns != nil:
		return &resolver{src: ns}, nil
	}
	if testing.Testing() {
		// A server started by a test never asks the system resolver
		// (it is not on loopback, and a slow answer turns into a
		// flaky test): without a zone file or nameservers, no name
		// exists.
		z, err := ParseZoneString("")
		if err != nil {
			return nil, err
		}
		return NewZoneResolver(z), nil
	}
	return net.DefaultResolver, nil
}
