import { type MigrationStep, numberSteps } from "./migration-step.js";
import { POSTGRES_CHANGES as change } from "./postgres-schema-changes.js";

/**
 * Flipt v1's CockroachDB schema history, steps 0–13 (`config/migrations/cockroachdb`): the PostgreSQL changes,
 * numbered from an initial schema that already has per-flag variant keys, segment match types and JSONB
 * attachments. CockroachDB does not run on the test machines: these steps are tested on PostgreSQL under a
 * `cockroachdb://` URL, and the CockroachDB-only path (changing a primary key) has not run on CockroachDB.
 */
export const FLIPT_COCKROACH_STEPS: readonly MigrationStep[] = numberSteps([
  ["initial", change.initialTables("unique-per-flag")],
  ["create_table_authentications", change.authentications],
  ["create_table_operation_lock", change.operationLock],
  ["create_namespaces", change.namespaces],
  ["namespaces_relationships", change.namespacesRelationships("variants_flag_key_key")],
  ["constraints_with_description", change.constraintsDescription],
  ["flag_type", change.flagType],
  ["rollouts", change.rollouts],
  ["segment_anding_tables", change.segmentAndingTables],
  ["alter_rules_rollouts_segments", change.alterRulesRolloutSegments()],
  ["namespaces_add_state_modified_at", change.stateModifiedAt],
  ["default_variant", change.defaultVariant],
  ["flag_metadata", change.flagMetadata],
  ["segment_foreign_keys", change.segmentForeignKeys],
]);
