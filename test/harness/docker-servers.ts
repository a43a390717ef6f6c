import type { StartedServer } from "./local-servers.js";

/** True when testcontainers finds a container runtime (a Docker engine, Podman, …). */
export async function dockerAvailable(): Promise<boolean> {
  if (process.env.RUNBUS_TEST_SERVERS === "local") return false;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startDockerKafka(): Promise<StartedServer> {
  const { KafkaContainer } = await import("@testcontainers/kafka");
  const container = await new KafkaContainer("confluentinc/cp-kafka:7.9.0").withKraft().start();
  return {
    address: `${container.getHost()}:${container.getMappedPort(9093)}`,
    workdir: "",
    pid: 0,
    stop: async () => {
      await container.stop();
    },
  };
}

export async function startDockerMongo(): Promise<StartedServer> {
  const { MongoDBContainer } = await import("@testcontainers/mongodb");
  const container = await new MongoDBContainer("mongo:7").start();
  return {
    address: `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/?directConnection=true`,
    workdir: "",
    pid: 0,
    stop: async () => {
      await container.stop();
    },
  };
}
