# The fourtuple image for cluster runs (`fourtuple k8s job --image ...`): built from this
# checkout (the package is not on the npm registry under this name; never `npx` it from there).
#   docker build -t REGISTRY/fourtuple:0.1.0 . && docker push REGISTRY/fourtuple:0.1.0
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# an agent's control port (agent 0 listens on it)
EXPOSE 7600
ENTRYPOINT ["node", "/app/dist/cli/bin.js"]
CMD ["--help"]
