package builder

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// defaultUser is who RUN steps and sandboxes run as unless USER says
// otherwise, as in E2B's templates.
const defaultUser = "user"

// Build implements Builder.
func (n *Node) Build(ctx context.Context, req Request, log Log) (Result, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, req.Timeout,
			fmt.Errorf("the build took longer than its timeout of %v: %w", req.Timeout, errdefs.ErrFailedPrecondition))
		defer cancel()
	}
	var res Result
	var stack []string
	set := Settings{Env: map[string]string{}}
	if req.Base.Image != "" {
		layers, cfg, err := n.pullImage(ctx, req.Base.Image, req.Base.Registry, log)
		if err != nil {
			return res, &StepError{Step: "base", ExitCode: -1, Err: causeOf(ctx, err)}
		}
		stack, set = layers, cfg
		delete(set.Env, "PATH") // the runtime sets a PATH every image's tools are on
		if stack, err = n.provision(stack, log); err != nil {
			return res, &StepError{Step: "base", ExitCode: -1, Err: err}
		}
	} else {
		if len(req.Base.Layers) == 0 {
			return res, &StepError{Step: "base", ExitCode: -1, Err: fmt.Errorf("no base image or template: %w", errdefs.ErrInvalidArgument)}
		}
		stack = slices.Clone(req.Base.Layers)
		set = req.Base.Settings
		set.Env = maps.Clone(set.Env)
		if set.Env == nil {
			set.Env = map[string]string{}
		}
	}
	if set.User == "" {
		set.User = defaultUser
	}
	parent := key(stack...)
	force := req.Force
	for i, st := range req.Steps {
		step := strconv.Itoa(i + 1)
		force = force || st.Force
		fail := func(err error) (Result, error) {
			var se *StepError
			if errors.As(err, &se) {
				se.Step = step
				return res, se
			}
			return res, &StepError{Step: step, ExitCode: -1, Err: causeOf(ctx, err)}
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		log("info", step, describe(st))
		var digest string
		var cached bool
		var err error
		switch strings.ToUpper(st.Type) {
		case "ENV":
			if len(st.Args)%2 != 0 {
				return fail(fmt.Errorf("ENV takes name and value pairs, got %d arguments: %w", len(st.Args), errdefs.ErrInvalidArgument))
			}
			for j := 0; j < len(st.Args); j += 2 {
				if st.Args[j] == "" || strings.ContainsAny(st.Args[j], "=\x00") {
					return fail(fmt.Errorf("ENV name %q: %w", st.Args[j], errdefs.ErrInvalidArgument))
				}
				set.Env[st.Args[j]] = st.Args[j+1]
			}
			continue
		case "USER":
			if len(st.Args) != 1 || st.Args[0] == "" {
				return fail(fmt.Errorf("USER takes one user name: %w", errdefs.ErrInvalidArgument))
			}
			if _, _, err := lookupOwner(stack, st.Args[0]); err != nil {
				return fail(err)
			}
			set.User = st.Args[0]
			continue
		case "WORKDIR":
			if len(st.Args) != 1 || !strings.HasPrefix(st.Args[0], "/") {
				return fail(fmt.Errorf("WORKDIR takes one absolute path: %w", errdefs.ErrInvalidArgument))
			}
			set.Workdir = st.Args[0]
			digest, cached, err = n.workdir(stack, parent, set, force)
		case "RUN":
			digest, cached, err = n.runStep(ctx, req, stack, parent, st, set, force, step, log)
		case "COPY":
			digest, cached, err = n.copyStep(ctx, req, stack, parent, st, set, force)
		default:
			return fail(fmt.Errorf("step type %q is not supported (RUN, COPY, ENV, WORKDIR, USER are): %w", st.Type, errdefs.ErrInvalidArgument))
		}
		if err != nil {
			return fail(err)
		}
		if digest == "" {
			continue
		}
		if cached {
			res.Cached++
			log("info", step, "CACHED "+describe(st))
		}
		stack = append([]string{n.layers.Path(digest)}, stack...)
		parent = digest
	}
	log("info", "finalize", "template ready")
	res.Layers, res.Settings = stack, set
	return res, nil
}

// causeOf prefers the reason ctx ended (the build timeout) to the error
// it caused.
func causeOf(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
	}
	return err
}

// describe is a step as a Dockerfile line, for the log.
func describe(st Step) string {
	args := st.Args
	if strings.EqualFold(st.Type, "COPY") && len(args) > 2 {
		args = args[:2]
	}
	return strings.ToUpper(st.Type) + " " + strings.Join(args, " ")
}

// envList turns env into KEY=value lines in a stable order.
func envList(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
