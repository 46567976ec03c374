#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so bots written in TypeScript load without a build step.
import { register } from 'tsx/esm/api';

// The SDK versions we pin support Node 20; its notice about future versions is not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../src/cli.ts');
