from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.regions.models import Region
from portal.roles.domain import Role
from portal.roles.scoping import grants, scoped_regions


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name", "level", "parent"]


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regions inside the caller's scope (any role)."""

    serializer_class = RegionSerializer
    pagination_class = None
    lookup_field = "code"

    def get_queryset(self):
        return scoped_regions(self.request.user)


class GrantSerializer(serializers.Serializer):
    role = serializers.CharField()
    role_label = serializers.CharField()
    region = serializers.CharField()
    department = serializers.CharField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    is_superuser = serializers.BooleanField()
    roles = GrantSerializer(many=True)


class MeView(APIView):
    """Who the caller is and which roles they hold where."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        labels = dict(Role.choices)
        user = request.user
        data = {
            "username": user.username,
            "full_name": user.display_name,
            "is_superuser": user.is_superuser,
            "roles": [
                {"role": g.role, "role_label": str(labels.get(g.role, g.role)), "region": g.region_code, "department": g.department}
                for g in grants(user)
            ],
        }
        return Response(MeSerializer(data).data)


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (send it as ``Authorization: Token …``).

    The token expires after ``PORTAL_API_TOKEN_HOURS`` and is revoked by ``POST /api/v1/auth/logout/``,
    a web logout or a password change. Failed attempts lock the username and the address exactly as
    on the login page (django-axes, portal/accounts/lockout.py): then 429 with Retry-After."""

    @extend_schema(
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}),
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField(), "expires": serializers.DateTimeField()}),
            400: OpenApiResponse(description="Wrong username or password (the messages per field)."),
            429: OpenApiResponse(description="Too many failed attempts for this username or address; wait."),
        },
    )
    def post(self, request, *args, **kwargs):
        from portal.accounts.tokens import issue_token, token_lifetime

        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = issue_token(serializer.validated_data["user"])
        return Response({"token": token.key, "expires": token.created + token_lifetime()})


class RevokeTokenView(APIView):
    """Revoke the caller's API tokens (log out of the API)."""

    @extend_schema(request=None, responses={
        204: OpenApiResponse(description="The tokens are revoked."),
        403: OpenApiResponse(description="Not signed in (no valid session or token)."),
    })
    def post(self, request):
        from portal.accounts.tokens import revoke_tokens

        revoke_tokens(request.user)
        return Response(status=204)
