// The workspace and its file tree, read through the query layer.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { keys, queries } from "../../api/queries";
import type { Entry } from "../../api/types";
import { errorText } from "../../components";

const NO_ENTRIES: Entry[] = [];

export function useWorkspaceData(workspaceId: number) {
  const client = useQueryClient();
  const workspace = useQuery(queries.workspace(workspaceId));
  const tree = useQuery(queries.tree(workspaceId));
  const entries = useMemo(() => tree.data?.entries ?? NO_ENTRIES, [tree.data]);
  // `exact`: the workspace's key is the prefix of its tree's and config's, which did not change.
  const refreshWorkspace = useCallback(
    () => void client.invalidateQueries({ queryKey: keys.workspace(workspaceId), exact: true }),
    [client, workspaceId],
  );
  const refreshTree = useCallback(
    () => void client.invalidateQueries({ queryKey: keys.tree(workspaceId) }),
    [client, workspaceId],
  );
  return {
    workspace: workspace.data ?? null,
    entries,
    loadError: errorText(workspace.error ?? tree.error),
    refreshWorkspace,
    refreshTree,
  };
}
