export { ENVIRONMENT_VARIABLES, type LoadConfigOptions, loadConfig } from './load.js';
export { type Config, type ConfigInput, configSchema } from './schema.js';
