import { fail } from '../errors.js';
import { type Digest, isDigest } from './digest.js';

/**
 * An image reference normalized the way Docker and containerd do:
 * `alpine` is `docker.io/library/alpine:latest`; `host:port/repo:tag`, `repo@sha256:..` and
 * `repo:tag@sha256:..` keep their parts. A reference with neither tag nor digest gets
 * `latest`. Grammar: https://github.com/distribution/reference/blob/main/reference.go
 */
export interface Reference {
  /** The registry host as written (with its port), `docker.io` for Docker Hub. */
  readonly domain: string;
  /** The repository path inside the registry, e.g. `library/alpine`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
/** The host that serves `docker.io` (the registry API is not on docker.io itself). */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';

const MAX_NAME_LENGTH = 255;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * Parses and normalizes a reference.
 * @throws InvalidArgument naming the part at fault (domain, path, tag, digest).
 */
export function parseReference(input: string): Reference {
  const shown = JSON.stringify(input.slice(0, 300));
  if (input.length === 0) throw fail('InvalidArgument', 'reference "": empty');
  const at = input.indexOf('@');
  const namePart = at < 0 ? input : input.slice(0, at);
  const digestPart = at < 0 ? undefined : input.slice(at + 1);
  if (digestPart !== undefined && !isDigest(digestPart)) {
    throw fail(
      'InvalidArgument',
      `reference ${shown}: invalid digest ${JSON.stringify(digestPart)}`,
    );
  }
  // A colon after the last slash starts the tag; an earlier one belongs to host:port.
  const colon = namePart.lastIndexOf(':');
  const hasTag = colon > namePart.lastIndexOf('/');
  const name = hasTag ? namePart.slice(0, colon) : namePart;
  const tag = hasTag ? namePart.slice(colon + 1) : undefined;
  if (tag !== undefined && !TAG.test(tag)) {
    throw fail('InvalidArgument', `reference ${shown}: invalid tag ${JSON.stringify(tag)}`);
  }
  const { domain, path } = splitDomain(name, shown);
  if (`${domain}/${path}`.length > MAX_NAME_LENGTH) {
    throw fail('InvalidArgument', `reference ${shown}: name longer than ${MAX_NAME_LENGTH}`);
  }
  return {
    domain,
    path,
    ...(tag !== undefined ? { tag } : digestPart === undefined ? { tag: 'latest' } : {}),
    ...(digestPart !== undefined ? { digest: digestPart as Digest } : {}),
  };
}

function splitDomain(name: string, shown: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  // Docker's rule: the first component is a host when it has a dot or a port, is
  // localhost, or has uppercase letters (which a repository path may not).
  const isHost =
    slash >= 0 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.toLowerCase() !== first);
  let domain = isHost ? first : DOCKER_HUB_DOMAIN;
  let path = isHost ? name.slice(slash + 1) : name;
  if (!DOMAIN.test(domain)) {
    throw fail('InvalidArgument', `reference ${shown}: invalid domain ${JSON.stringify(domain)}`);
  }
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      const why = component.toLowerCase() === component ? 'invalid' : 'uppercase in';
      throw fail('InvalidArgument', `reference ${shown}: ${why} path ${JSON.stringify(path)}`);
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}

/** `domain/path`: the repository name without tag or digest. */
export function referenceName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalized form: `domain/path[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${referenceName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${
    ref.digest === undefined ? '' : `@${ref.digest}`
  }`;
}

/** The short form Docker shows: `alpine:latest` for `docker.io/library/alpine:latest`. */
export function familiarName(ref: Reference): string {
  const full = formatReference(ref);
  const hub = `${DOCKER_HUB_DOMAIN}/`;
  if (!full.startsWith(hub)) return full;
  const rest = full.slice(hub.length);
  return rest.startsWith('library/') && !rest.slice(8).split(/[:@]/)[0]!.includes('/')
    ? rest.slice(8)
    : rest;
}
