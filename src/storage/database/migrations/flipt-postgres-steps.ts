import { type MigrationStep, numberSteps } from "./migration-step.js";
import { POSTGRES_CHANGES as change } from "./postgres-schema-changes.js";

/** Flipt v1's PostgreSQL schema history, steps 0–16 (`config/migrations/postgres`), ending at spec §2.5. */
export const FLIPT_POSTGRES_STEPS: readonly MigrationStep[] = numberSteps([
  ["initial", change.initialTables("unique-key")],
  ["variants_unique_per_flag", change.variantsUniquePerFlag],
  ["segments_match_type", change.segmentsMatchType],
  ["variants_attachment", change.variantsAttachment],
  ["create_table_authentications", change.authentications],
  ["create_table_operation_lock", change.operationLock],
  ["create_namespaces", change.namespaces],
  ["namespaces_relationships", change.namespacesRelationships("variants_flag_key_key_key")],
  ["constraints_with_description", change.constraintsDescription],
  ["flag_type", change.flagType],
  ["rollouts", change.rollouts],
  ["segment_anding_tables", change.segmentAndingTables],
  ["alter_rules_rollout_segments", change.alterRulesRolloutSegments()],
  ["namespaces_add_state_modified_at", change.stateModifiedAt],
  ["default_variant", change.defaultVariant],
  ["flag_metadata", change.flagMetadata],
  ["segment_foreign_keys", change.segmentForeignKeys],
]);
