/**
 * Base class for typed domain errors. Components throw subclasses; each surface (ARM, Entra, Key Vault,
 * TDS) maps them to its own wire envelope at the edge, through one catalog per surface.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
