/**
 * The one range of a job's queue priority: a request's `priority` (controller)
 * and a dataset's `priority` in the host configuration (config schema) are
 * checked against these, so a dataset the configuration accepts never has
 * every backup rejected by the controller. Kept in a module of its own so the
 * configuration schema does not load the controller.
 */
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;
