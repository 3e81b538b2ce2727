package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// scenario is what the suite told the client.
type scenario struct {
	name     string // MCP_CONFORMANCE_SCENARIO
	version  string // MCP_CONFORMANCE_PROTOCOL_VERSION; "" lets the SDK choose
	context  string // MCP_CONFORMANCE_CONTEXT, JSON; "" when none
	endpoint string
}

// step is one thing the client does in a scenario's session.
type step func(ctx context.Context, cs *mcp.ClientSession) error

// steps is the scenario's plan. Each named one does what the suite's own
// reference client does for it; any other scenario gets exercise, which
// uses every tool, resource and prompt the server offers.
func (sc scenario) steps() ([]step, error) {
	switch sc.name {
	case "initialize", "tools_call":
		return []step{callFirstTool(map[string]any{"a": 2, "b": 3})}, nil
	case "request-metadata", "json-schema-ref-no-deref":
		// The server answers tools/list only (and, for request-metadata,
		// server/discover, which Connect sends under 2026-07-28).
		return []step{listOnly}, nil
	case "json-schema-2020-12-preservation":
		return []step{echoSchema("json_schema_2020_12_tool", "json_schema_echo")}, nil
	case "sse-retry":
		return []step{callTool("test_reconnection", map[string]any{})}, nil
	case "elicitation-sep1034-client-defaults":
		return []step{callTool("test_client_elicitation_defaults", map[string]any{})}, nil
	case "http-custom-headers":
		calls, err := contextToolCalls(sc.context)
		if err != nil {
			return nil, err
		}
		steps := []step{listOnly}
		for _, c := range calls {
			steps = append(steps, callTool(c.Name, c.Arguments))
		}
		return steps, nil
	default:
		return []step{exercise}, nil
	}
}

// clientOptions: an elicitation handler that accepts with no content, so
// the SDK fills in the schema's defaults (SEP-1034).
func (sc scenario) clientOptions() *mcp.ClientOptions {
	return &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{}}, nil
		},
	}
}

type toolCall struct {
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// contextToolCalls reads the calls a scenario asks for in its context
// ({"toolCalls":[{"name":...,"arguments":{...}}]}).
func contextToolCalls(raw string) ([]toolCall, error) {
	var ctx struct {
		ToolCalls []toolCall `json:"toolCalls"`
	}
	if err := json.Unmarshal([]byte(raw), &ctx); err != nil {
		return nil, fmt.Errorf("MCP_CONFORMANCE_CONTEXT: %w", err)
	}
	if len(ctx.ToolCalls) == 0 {
		return nil, errors.New("MCP_CONFORMANCE_CONTEXT names no toolCalls")
	}
	return ctx.ToolCalls, nil
}

func listTools(ctx context.Context, cs *mcp.ClientSession) ([]*mcp.Tool, error) {
	var tools []*mcp.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		tools = append(tools, t)
	}
	return tools, nil
}

func listOnly(ctx context.Context, cs *mcp.ClientSession) error {
	_, err := listTools(ctx, cs)
	return err
}

func callTool(name string, args map[string]any) step {
	return func(ctx context.Context, cs *mcp.ClientSession) error {
		// A result with isError is the tool's answer, not a failure of
		// the transport the suite is judging.
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args}); err != nil {
			return fmt.Errorf("tools/call %s: %w", name, err)
		}
		return nil
	}
}

func callFirstTool(args map[string]any) step {
	return func(ctx context.Context, cs *mcp.ClientSession) error {
		tools, err := listTools(ctx, cs)
		if err != nil || len(tools) == 0 {
			return err
		}
		return callTool(tools[0].Name, args)(ctx, cs)
	}
}

// echoSchema sends the input schema of the tool focal, as listed, to the
// tool echo, which compares it with what the server sent (SEP-1613: a
// client must not drop JSON Schema 2020-12 keywords).
func echoSchema(focal, echo string) step {
	return func(ctx context.Context, cs *mcp.ClientSession) error {
		tools, err := listTools(ctx, cs)
		if err != nil {
			return err
		}
		for _, t := range tools {
			if t.Name == focal {
				return callTool(echo, map[string]any{"schema": t.InputSchema})(ctx, cs)
			}
		}
		return fmt.Errorf("tools/list has no tool %q", focal)
	}
}

// exercise calls every tool listed with arguments made from its schema,
// reads every resource and gets every prompt the server has.
func exercise(ctx context.Context, cs *mcp.ClientSession) error {
	tools, err := listTools(ctx, cs)
	if err != nil {
		return err
	}
	for _, t := range tools {
		if err := callTool(t.Name, sampleArguments(t.InputSchema))(ctx, cs); err != nil {
			return err
		}
	}
	caps := cs.InitializeResult().Capabilities
	if caps != nil && caps.Resources != nil {
		if err := readResources(ctx, cs); err != nil {
			return err
		}
	}
	if caps != nil && caps.Prompts != nil {
		return getPrompts(ctx, cs)
	}
	return nil
}

func readResources(ctx context.Context, cs *mcp.ClientSession) error {
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			return fmt.Errorf("resources/list: %w", err)
		}
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: r.URI}); err != nil {
			return fmt.Errorf("resources/read %s: %w", r.URI, err)
		}
	}
	return nil
}

func getPrompts(ctx context.Context, cs *mcp.ClientSession) error {
	for p, err := range cs.Prompts(ctx, nil) {
		if err != nil {
			return fmt.Errorf("prompts/list: %w", err)
		}
		args := map[string]string{}
		for _, a := range p.Arguments {
			if a.Required {
				args[a.Name] = "x"
			}
		}
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: p.Name, Arguments: args}); err != nil {
			return fmt.Errorf("prompts/get %s: %w", p.Name, err)
		}
	}
	return nil
}

// sampleArguments gives every property of an object schema a value of its
// type, so a tool can be called without knowing it.
func sampleArguments(schema any) map[string]any {
	raw, err := json.Marshal(schema)
	if err != nil {
		return map[string]any{}
	}
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	args := map[string]any{}
	for _, n := range names {
		args[n] = sampleValue(s.Properties[n].Type)
	}
	return args
}

func sampleValue(typ any) any {
	if list, ok := typ.([]any); ok && len(list) > 0 {
		typ = list[0]
	}
	switch typ {
	case "number":
		return 1.5
	case "integer":
		return 1
	case "boolean":
		return true
	case "array":
		return []any{}
	case "object":
		return map[string]any{}
	case "null":
		return nil
	default:
		return "sample"
	}
}
